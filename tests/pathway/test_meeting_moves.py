"""Moving a case to a later MACE 1 meeting: it leaves the old agenda and joins the new one, wherever it waits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from processes.engine.clock import aware
from processes.engine.db import db
from processes.mace import meetings
from processes.mace.demo import ANSWERS
from processes.mace.models import Booking, Meeting
from processes.mace.working_days import UK
from tests.support.pathway import BEFORE_MEETING, MONDAY, walk


def meeting_id(starts_at: datetime) -> int:
    return db.session.scalar(select(Meeting.id).where(Meeting.area_code == "north", Meeting.starts_at == starts_at))


def move_to_next(child, first: datetime, reason: str = "Chair unavailable for this case") -> None:
    support = child.people["business_support"]
    [item] = meetings.agenda(support, meeting_id(first)).items
    meetings.move_to_next(support, item.booking.id, reason)
    db.session.expire_all()


def bookings(case_id: int) -> list[tuple[datetime, str, str]]:
    return [(aware(b.meeting_at), b.kind, b.status) for b in db.session.scalars(
        select(Booking).where(Booking.case_id == case_id).order_by(Booking.meeting_at))]


@pytest.mark.parametrize("done", [
    pytest.param([], id="plan-not-yet-shared"),
    pytest.param(["share_plan", "circulate_plan"], id="agency-updates-open"),
    pytest.param(BEFORE_MEETING, id="waiting-at-the-meeting-timer"),
])
def test_a_moved_case_is_on_the_next_meetings_agenda_and_its_outcome_is_recorded_there(child, done, pathway_bundle):
    """Wherever the case waits when it is moved (at a step, or at the meeting's timer once every agency's view
    is in), it is booked into the area's next meeting, and business support records its outcome from that page."""
    first_meeting = pathway_bundle.booked(MONDAY).starts_at
    next_meeting = pathway_bundle.scales.next_meeting("north", first_meeting.astimezone(UK).date()).starts_at
    walk(child, done)
    move_to_next(child, first_meeting)
    assert bookings(child.case.id) == [(first_meeting, "new", "moved"), (next_meeting, "new", "booked")]
    support = child.people["business_support"]
    old = meetings.agenda(support, meeting_id(first_meeting))
    assert old.items == [] and [aware(m.to_meeting_at) for _, m in old.moved_out] == [next_meeting]
    [item] = meetings.agenda(support, meeting_id(next_meeting)).items
    assert (item.booking.case_id, item.booking.kind) == (child.case.id, "new")

    walk(child, [step for step in BEFORE_MEETING if step not in done])
    child.travel(first_meeting + timedelta(hours=1))
    assert child.open_steps() == [], "nothing happens at the old meeting"
    child.travel(next_meeting + timedelta(minutes=1))
    [item] = meetings.agenda(support, meeting_id(next_meeting)).items
    assert item.outcome_task_id is not None, "the outcome opens on the new meeting's page"
    task = meetings.record_outcome(support, meeting_id(next_meeting), item.booking.id,
                                   {**ANSWERS["mace1_outcome"], "mace1_outcome": "close"})
    assert (task.element_id, task.completed_by_id) == ("mace1_outcome", support.id)
    assert child.open_steps() == ["disseminate", "update_parents"]
    [item] = meetings.agenda(support, meeting_id(next_meeting)).items
    assert item.outcome_recorded
