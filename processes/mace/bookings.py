"""MACE 1 bookings as the pathway makes them: the meeting a case waits for, projected from its open steps'
data into the agenda table (`mace1_bookings`) as each step commits, so agendas never read workflow state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from SpiffWorkflow.task import Task
from sqlalchemy import select

from processes.engine import write_queue
from processes.engine.clock import UTC, aware
from processes.engine.db import db, insert_once
from processes.engine.hooks import Watched
from processes.engine.models import HumanTask, ProcessInstance
from processes.mace import timescales as timescale_config
from processes.mace.contract import BOOKING_VARIABLE, OUTCOME_STEP
from processes.mace.models import Booking, BookingMove, Meeting
from processes.mace.working_days import UK


def booking_of(open_steps: Iterable[Task]) -> tuple[str, str] | None:
    """(meeting start, plan deadline) of the MACE 1 meeting the case is booked into, from the data of its ready
    user tasks and waiting timers: a booked case always waits at one of them."""
    for task in open_steps:
        value = task.data.get(BOOKING_VARIABLE)
        if isinstance(value, dict) and isinstance(value.get("date"), str) and isinstance(value.get("plan_deadline"),
                                                                                         str):
            return value["date"], value["plan_deadline"]
    return None


def record(instance: ProcessInstance, case_id: int, area_code: str, booking: tuple[str, str],
           previous: tuple[str, str] | None, at: datetime) -> None:
    """A new booking becomes a row of its meeting's agenda, and the meeting a row of its own if it had none.

    A booking that replaces one its meeting never discussed (the plan was late, or business support moved
    the case) takes the place of that one, which is marked moved; any other booking of a case seen at
    MACE 1 before is a review. A new cycle carrying the same booking adds nothing.
    """
    meeting_at = datetime.fromisoformat(booking[0]).astimezone(UTC)
    plan_deadline = date.fromisoformat(booking[1])
    timescales = timescale_config.for_definition(instance.definition)
    minutes = timescales.minutes_per_case(area_code) if timescales else None
    write_queue.queue(insert_once(Meeting.__table__, {
        "area_code": area_code, "starts_at": meeting_at, "plan_deadline": plan_deadline,
        "minutes_per_case": minutes}, ["area_code", "starts_at"]))
    kind = None
    if previous is not None:
        replaced = db.session.scalar(select(Booking).where(
            Booking.case_id == case_id, Booking.meeting_at == datetime.fromisoformat(previous[0]).astimezone(UTC)))
        if replaced is not None and not _discussed(case_id, aware(replaced.meeting_at)):
            kind = replaced.kind
            if replaced.status == "booked":
                replaced.status = "moved"
                late = replaced.plan_deadline < at.astimezone(UK).date()
                db.session.add(BookingMove(booking_id=replaced.id, to_meeting_at=meeting_at, moved_at=at, reason=(
                    "Plan not ready by the plan deadline: booked into the next meeting whose deadline is still ahead"
                    if late else "Moved to another meeting by the pathway")))
    if kind is None:
        seen = db.session.scalar(select(Booking.id).where(Booking.case_id == case_id).limit(1)) is not None
        kind = "review" if seen else "new"
    write_queue.queue(insert_once(Booking.__table__, {
        "case_id": case_id, "instance_id": instance.id, "area_code": area_code, "meeting_at": meeting_at,
        "plan_deadline": plan_deadline, "kind": kind, "status": "booked", "booked_at": at}, ["case_id", "meeting_at"]))


def _discussed(case_id: int, meeting_at: datetime) -> bool:
    return db.session.scalar(select(HumanTask.id).where(
        HumanTask.case_id == case_id, HumanTask.element_id == OUTCOME_STEP, HumanTask.status == "completed",
        HumanTask.completed_at >= meeting_at).limit(1)) is not None


class BookingWatcher:
    """Watches the booking the open steps carry; a new one becomes a row of its meeting's agenda."""

    def read(self, open_steps: Iterable[Task]) -> tuple[str, str] | None:
        return booking_of(open_steps)

    def changed(self, change: Watched) -> None:
        if change.new is not None:
            record(change.instance, change.case_id, change.area_code, change.new, change.old, change.at)
