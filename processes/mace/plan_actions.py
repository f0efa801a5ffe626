"""Plan actions: each action of a child's plan kept as a row when its step completes, listed on the case page and in
its owners' work list, marked done by an owner, and chased with reminders, overdue notices and escalations."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import aliased

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, NotFound
from processes.engine.hooks import StepCompleted
from processes.engine.transaction import atomic
from processes.identity.models import User, UserArea, UserRole
from processes.mace import alerts, contract, meetings, policy
from processes.mace import timescales as timescale_config
from processes.mace.models import PlanAction
from processes.mace.working_days import UK

STATUSES = ("open", "done", "dropped")
WORKLIST_LIMIT = 200


def _may_own(user: type[User]) -> ColumnElement[bool]:
    """An active user of the action's area in a role that may mark actions done (correlated with PlanAction)."""
    return and_(
        user.is_active.is_(True),
        exists().where(UserRole.user_id == user.id, UserRole.role.in_(policy.roles_with(policy.PLAN_ACTION_DONE))),
        exists().where(UserArea.user_id == user.id, UserArea.area_code == PlanAction.area_code),
    )


def owner_clause() -> ColumnElement[bool]:
    """Which users own a plan action: those of its agency among the area's owners; when none of the area's
    owners speaks for that agency (a school's action, say), every owner of the area, so no action goes unowned."""
    colleague = aliased(User)
    return and_(_may_own(User), or_(
        User.agency == PlanAction.agency,
        ~exists().where(colleague.agency == PlanAction.agency, _may_own(colleague))))


def _end_of(day: date) -> datetime:
    """A due date means the end of that day on UK clocks."""
    return datetime.combine(day, time(23, 59, 59), UK).astimezone(UTC)


def record(step: StepCompleted) -> None:
    """A step-completed listener: the actions a plan step agreed become rows, each scheduled for its alerts."""
    fields = [name for name in contract.ACTION_FIELDS if isinstance(step.data.get(name), list)]
    if not fields:
        return
    scales = timescale_config.for_definition(step.definition)
    if scales is None:
        return  # not the pathway (an engine test bundle): nothing to chase the actions by
    for name in fields:
        for item in step.data[name]:
            _add(step, scales, item)


def _add(step: StepCompleted, scales: timescale_config.Timescales, item: dict[str, Any]) -> None:
    due_on = date.fromisoformat(item[contract.ACTION_DUE])
    due_at = _end_of(due_on)
    remind_at = scales.before(contract.ACTION_REMINDER, due_at)
    action = PlanAction(
        case_id=step.task.case_id, area_code=step.task.area_code, human_task_id=step.task.id,
        source_step=step.task.element_id, agency=item[contract.ACTION_AGENCY], text=item[contract.ACTION_TEXT],
        due_on=due_on, due_at=due_at, status="open", created_at=step.at,
        remind_at=remind_at if remind_at > step.at else None,  # no reminder for an action already nearly due
        escalate_at=scales.after(contract.ACTION_ESCALATION, due_at),
    )
    action.next_alert_at = _next(action)
    db.session.add(action)


def _times(action: PlanAction) -> dict[str, datetime]:
    times = {"overdue": aware(action.due_at), "escalation": aware(action.escalate_at)}
    if action.remind_at is not None:
        times["reminder"] = aware(action.remind_at)
    return times


def _raised(action: PlanAction) -> set[str]:
    return set(filter(None, (action.alerts_raised or "").split(",")))


def _next(action: PlanAction) -> datetime | None:
    pending = [when for kind, when in _times(action).items() if kind not in _raised(action)]
    return min(pending) if pending else None


def for_case(case_id: int) -> list[PlanAction]:
    """A case's actions in the order agreed, for a page that has already checked and audited the case's read."""
    return list(db.session.scalars(select(PlanAction).where(PlanAction.case_id == case_id).order_by(PlanAction.id)))


@atomic
def worklist(actor: Actor, limit: int = WORKLIST_LIMIT) -> list[PlanAction]:
    """The open actions the actor owns, soonest due first; each child shown is audited."""
    owns = exists().where(User.id == actor.id, owner_clause())
    items = list(db.session.scalars(
        select(PlanAction).where(PlanAction.status == "open", PlanAction.area_code.in_(actor.areas), owns)
        .order_by(PlanAction.due_at, PlanAction.id).limit(limit)))
    audit.record_each(actor, "plan_action.list", (a.case_id for a in items))
    return items


def markable(actor: Actor, actions: list[PlanAction]) -> set[int]:
    """The ids of those open actions the actor may mark done, in one query."""
    ids = [a.id for a in actions if a.status == "open"]
    if not ids or not actor.may(policy.PLAN_ACTION_DONE):
        return set()
    return set(db.session.scalars(select(PlanAction.id).where(
        PlanAction.id.in_(ids), exists().where(User.id == actor.id, owner_clause()))))


@atomic
def mark_done(actor: Actor, action_id: int) -> PlanAction:
    """Mark one action done: it stops being chased. NotFound outside the actor's areas; Forbidden for others."""
    action = db.session.scalar(select(PlanAction).where(PlanAction.id == action_id).with_for_update()
                               .execution_options(populate_existing=True))
    if action is None or action.area_code not in actor.areas:
        raise NotFound(f"No plan action {action_id}.")
    if action.status != "open":
        raise Conflict(f"The action is already {action.status}.")
    actor.require(policy.PLAN_ACTION_DONE, "mark a plan action done")
    if action.id not in markable(actor, [action]):
        raise Forbidden("Only the people of the owning agency can mark this action done.")
    action.status, action.done_at, action.done_by_id, action.next_alert_at = "done", now(), actor.id, None
    audit.record(actor, "plan_action.done", case_id=action.case_id, detail=f"action {action.id}")
    return action


def due_alerts(limit: int, after: int) -> list[int]:
    """The sweep's query: open actions whose next alert has fallen due, by index."""
    return list(db.session.scalars(
        select(PlanAction.id).where(PlanAction.status == "open", PlanAction.next_alert_at <= now(),
                                    PlanAction.id > after).order_by(PlanAction.id).limit(limit)))


def _owners(action: PlanAction) -> list[int]:
    return list(db.session.scalars(select(User.id).join(PlanAction, PlanAction.id == action.id)
                                   .where(owner_clause()).order_by(User.id)))


@atomic
def raise_due(action_id: int) -> list[str]:
    """Raise the alerts now due for one action: reminder and overdue notice to its owners, escalation to the
    MACE chairs. Returns the kinds raised; safe to run twice or at once."""
    action = db.session.scalar(select(PlanAction).where(PlanAction.id == action_id).with_for_update()
                               .execution_options(populate_existing=True))
    at = now()
    if action is None or action.status != "open" or action.next_alert_at is None or \
            aware(action.next_alert_at) > at:
        return []
    raised = _raised(action)
    due = [kind for kind, when in _times(action).items() if kind not in raised and when <= at]
    told = [kind for kind in due if not (kind == "reminder" and "overdue" in due)]  # late sweep: no stale reminder
    for kind in told:
        people = alerts.escalation_holders(action.area_code) if kind == "escalation" else _owners(action)
        alerts.notify(people, kind, at, case_id=action.case_id, plan_action_id=action.id)
        audit.record(None, f"plan_action.{kind}", case_id=action.case_id,
                     detail=f"action {action.id}: {len(people)} recipient(s)")
    action.alerts_raised = ",".join(kind for kind in alerts.KINDS if kind in raised or kind in due)
    action.next_alert_at = _next(action)
    return told


def agency_names() -> dict[str, str]:
    """Agency code to name, from the deployed pathway's configured agencies."""
    return meetings.pathway_timescales().core_agencies
