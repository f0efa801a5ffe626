"""Retention and erasure: each closed case's review date from `retention.json`, the list of cases due for review,
and erasure on the decision of two administrators.

The schedule travels with the pathway's diagrams (a bundle extension, checked at deploy), so a partnership
changes how long it keeps records without touching Python. A case is placed on it when its last pathway
ends; the sweep lists it for review once due; one administrator proposes erasure and a second approves it.
Erasure removes the child's record from every table and keeps, in its review row and the audit trail, ids
and who decided, never a name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from jsonschema import Draft202012Validator
from sqlalchemy import delete, exists, select, update

from processes.engine import audit, write_queue
from processes.engine import bundle as bundles
from processes.engine.actors import Actor
from processes.engine.clock import aware, now
from processes.engine.config_files import file_problems, schema_problems
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, NotFound
from processes.engine.hooks import InstanceEnded, Job
from processes.engine.models import AuditEvent, HumanTask, Incident, ProcessInstance, Timer
from processes.engine.transaction import atomic
from processes.mace.models import (
    Booking,
    BookingMove,
    Case,
    CaseFact,
    Notification,
    RetentionReview,
    TaskDraft,
)
from processes.mace.policy import RECORDS_ERASE
from processes.mace.working_days import UK

FILE_NAME = "retention.json"
OUTCOME_FACT = "mace1_outcome"
ERASED_NAME = "Erased record"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["years_after_closure"],
    "properties": {
        "$comment": {"type": "string"},
        "years_after_closure": {
            "type": "object",
            "required": ["default"],
            "properties": {
                "default": {"type": "integer", "minimum": 0, "maximum": 100},
                "by_outcome": {"type": "object", "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                               "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100}},
            },
            "additionalProperties": False,
        },
        "keep_until_age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "additionalProperties": False,
}

_VALIDATOR = Draft202012Validator(SCHEMA)


@dataclass(frozen=True)
class Schedule:
    """How long a closed case is kept: years after closure by its last MACE 1 outcome, and an age before which
    a child's record is never due."""

    default_years: int
    by_outcome: dict[str, int]
    keep_until_age: int | None

    def due_on(self, closed: date, outcome: str | None, born: date | None) -> date:
        years = self.by_outcome.get(outcome, self.default_years) if outcome else self.default_years
        due = closed + relativedelta(years=years)
        if born is not None and self.keep_until_age is not None:
            due = max(due, born + relativedelta(years=self.keep_until_age))
        return due


class RetentionFile:
    """`retention.json` as a bundle extension: checked at deploy and parsed once per pathway version."""

    file_name = FILE_NAME

    def check(self, text: str) -> list[str]:
        return file_problems(text, "The retention schedule is", "The retention schedule breaks its rules at",
                             lambda config: schema_problems(_VALIDATOR, config))

    def parse(self, text: str) -> Schedule:
        config = json.loads(text)
        years = config["years_after_closure"]
        return Schedule(years["default"], dict(years.get("by_outcome", {})), config.get("keep_until_age"))

    def functions(self, config: Schedule) -> dict[str, Any]:
        return {}


def _still_running(case_id: int, other_than: int | None = None) -> bool:
    running = select(ProcessInstance.id).where(ProcessInstance.case_id == case_id,
                                               ProcessInstance.status == "running")
    if other_than is not None:
        running = running.where(ProcessInstance.id != other_than)
    return bool(db.session.scalar(select(exists(running))))


def place_on_schedule(event: InstanceEnded) -> None:
    """Listener: when a case's last running pathway ends, its review date is set from the schedule that
    pathway's version carries. A case that starts again is taken off at its review (see `list_due`)."""
    instance = event.instance
    schedule = bundles.for_definition(instance.definition).configs.get(FILE_NAME)
    if schedule is None or _still_running(instance.case_id, other_than=instance.id):
        return
    write_queue.send_now(db.session)  # the outcome this same change recorded, if it did
    outcome = db.session.scalar(
        select(CaseFact.value).where(CaseFact.case_id == instance.case_id, CaseFact.kind == OUTCOME_FACT)
        .order_by(CaseFact.recorded_at.desc(), CaseFact.id.desc()).limit(1))
    case = db.session.get(Case, instance.case_id)
    due = schedule.due_on(aware(event.at).astimezone(UK).date(), outcome, case.date_of_birth)
    row = db.session.get(RetentionReview, case.id)
    if row is None:
        db.session.add(RetentionReview(case_id=case.id, area_code=case.area_code, closed_at=event.at,
                                       outcome=outcome, due_on=due, status="kept"))
    elif row.status != "erased":
        row.closed_at, row.outcome = event.at, outcome
        _keep_until(row, due)


def _keep_until(row: RetentionReview, due: date) -> None:
    """Back on the schedule until `due`: any listing or proposal before it no longer stands."""
    row.status, row.due_on = "kept", due
    row.listed_at = row.proposed_by_id = row.proposed_at = None


def _today() -> date:
    return now().astimezone(UK).date()


def _due(limit: int, after: int) -> list[int]:
    return list(db.session.scalars(
        select(RetentionReview.case_id).where(RetentionReview.status == "kept", RetentionReview.due_on <= _today(),
                                              RetentionReview.case_id > after)
        .order_by(RetentionReview.case_id).limit(limit)))


@atomic
def list_due(case_id: int) -> int:
    """Sweep job: list a case whose review date has come for an administrator's review; 1 if it was listed.

    A case that has started again since it closed comes off the schedule until it closes once more.
    """
    row = _locked_review(case_id)
    if row is None or row.status != "kept" or row.due_on > _today():
        return 0
    if _still_running(case_id):
        db.session.delete(row)
        return 0
    row.status, row.listed_at = "due", now()
    audit.record(None, "retention.listed", case_id=case_id)
    return 1


JOB = Job(_due, list_due)


@dataclass
class Review:
    """A case listed for review, as the records page shows it."""

    row: RetentionReview
    case: Case


@atomic
def reviews(actor: Actor) -> list[Review]:
    """The cases of the actor's areas listed for review or proposed for erasure, oldest due first; each child
    shown is audited."""
    actor.require(RECORDS_ERASE, "review records for erasure")
    rows = db.session.execute(
        select(RetentionReview, Case).join(Case, Case.id == RetentionReview.case_id)
        .where(RetentionReview.status.in_(("due", "proposed")), RetentionReview.area_code.in_(actor.areas))
        .order_by(RetentionReview.due_on, RetentionReview.case_id)).all()
    audit.record_each(actor, "retention.list", {case.id for _, case in rows})
    return [Review(row, case) for row, case in rows]


def _locked_review(case_id: int) -> RetentionReview | None:
    return db.session.scalar(select(RetentionReview).where(RetentionReview.case_id == case_id)
                             .with_for_update().execution_options(populate_existing=True))


def _review_for_change(actor: Actor, case_id: int) -> RetentionReview:
    actor.require(RECORDS_ERASE, "review records for erasure")
    row = _locked_review(case_id)
    if row is None or row.area_code not in actor.areas:
        raise NotFound(f"No case {case_id} is listed for review.")
    return row


@atomic
def propose_erasure(actor: Actor, case_id: int) -> RetentionReview:
    """The first administrator's decision: this case's record should be erased. Nothing is erased yet."""
    row = _review_for_change(actor, case_id)
    if row.status != "due":
        raise Conflict(f"Case {case_id} is {_STATUS_WORDS[row.status]}; nothing was changed.")
    row.status, row.proposed_by_id, row.proposed_at = "proposed", actor.id, now()
    audit.record(actor, "retention.erasure_proposed", case_id=case_id)
    return row


@atomic
def approve_erasure(actor: Actor, case_id: int) -> RetentionReview:
    """The second administrator's decision: erase the case's record now, everywhere."""
    row = _review_for_change(actor, case_id)
    if row.status != "proposed":
        raise Conflict(f"Case {case_id} is {_STATUS_WORDS[row.status]}; nothing was erased.")
    if row.proposed_by_id == actor.id:
        raise Forbidden("Another administrator must approve the erasure you proposed; nothing was erased.")
    if _still_running(case_id):
        raise Conflict(f"Case {case_id} has a pathway running again; nothing was erased.")
    at = now()
    erase(case_id)
    row.status, row.approved_by_id, row.erased_at = "erased", actor.id, at
    audit.record(actor, "retention.erased", case_id=case_id)
    return row


@atomic
def keep_longer(actor: Actor, case_id: int, years: int = 1) -> RetentionReview:
    """Decide to keep the record for now: it comes back for review after `years`."""
    row = _review_for_change(actor, case_id)
    if row.status not in ("due", "proposed"):
        raise Conflict(f"Case {case_id} is {_STATUS_WORDS[row.status]}; nothing was changed.")
    _keep_until(row, _today() + relativedelta(years=years))
    audit.record(actor, "retention.kept", case_id=case_id, detail=f"until {row.due_on:%Y-%m-%d}")
    return row


_STATUS_WORDS = {"kept": "not due for review", "due": "due for review, not yet proposed for erasure",
                 "proposed": "already proposed for erasure", "erased": "already erased"}


def erase(case_id: int) -> None:
    """Remove the child's record from every table, inside the caller's change.

    Workflow state, steps (with the answers each recorded), timers, drafts, notifications, incidents, bookings
    and facts (the persons and locations of concern recorded for this child among them) are deleted; the case
    row stays, nameless, so that the audit trail's ids still lead somewhere; the audit trail keeps who did what
    and when, and loses any free text (a cancellation's reason, say).
    """
    instances = select(ProcessInstance.id).where(ProcessInstance.case_id == case_id).scalar_subquery()
    steps = select(HumanTask.id).where(HumanTask.case_id == case_id).scalar_subquery()
    bookings = select(Booking.id).where(Booking.case_id == case_id).scalar_subquery()
    connection = db.session.connection()
    for statement in (
        delete(TaskDraft).where(TaskDraft.human_task_id.in_(steps)),
        delete(Notification).where(Notification.case_id == case_id),
        delete(Timer).where(Timer.instance_id.in_(instances)),
        delete(Incident).where(Incident.case_id == case_id),
        delete(BookingMove).where(BookingMove.booking_id.in_(bookings)),
        delete(Booking).where(Booking.case_id == case_id),
        delete(CaseFact).where(CaseFact.case_id == case_id),
        delete(HumanTask).where(HumanTask.case_id == case_id),
        update(ProcessInstance).where(ProcessInstance.case_id == case_id).values(previous_id=None),
        delete(ProcessInstance).where(ProcessInstance.case_id == case_id),
        update(Case).where(Case.id == case_id).values(child_name=ERASED_NAME, date_of_birth=None),
        # Core, past the ORM's append-only guard: only the free text goes, never a row (see audit_events).
        update(AuditEvent.__table__).where(AuditEvent.case_id == case_id, AuditEvent.detail.is_not(None))
        .values(detail=None),
    ):
        connection.execute(statement)
    db.session.expire_all()
