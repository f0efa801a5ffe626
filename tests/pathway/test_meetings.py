"""MACE 1 meetings on the real pathway, shipped and with every timescale changed: generated ahead, agendas built from
bookings, moves, attendance, outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from processes.engine.models import AuditEvent, Timer
from processes.mace import meetings
from processes.mace.models import CaseFact, Meeting
from processes.mace.timescales import WEEKDAYS
from processes.mace.timescales import Meeting as TimescaleMeeting
from processes.mace.working_days import UK
from tests.support.pathway import (
    ANSWERS,
    MONDAY,
    TO_MACE1,
    start_child,
    walk,
)


@pytest.fixture
def first(pathway_bundle) -> TimescaleMeeting:
    """North's first MACE 1 with a plan deadline still ahead on MONDAY, when the child's plan is booked."""
    return pathway_bundle.booked(MONDAY)


@pytest.fixture
def following(pathway_bundle, first) -> TimescaleMeeting:
    """North's meeting after the first."""
    return pathway_bundle.scales.next_meeting("north", first.starts_at.astimezone(UK).date())


def day_after(day: date) -> datetime:
    """09:00 UK time on the day after `day`."""
    return datetime.combine(day + timedelta(days=1), time(9, 0), UK)


def minutes_per_case(pathway_bundle, area: str = "north") -> int:
    return pathway_bundle.scales.minutes_per_case(area)


def meeting_at(starts_at: datetime, area: str = "north") -> Meeting:
    return db.session.scalar(select(Meeting).where(Meeting.area_code == area, Meeting.starts_at == starts_at))


def test_meetings_are_generated_ahead_at_each_areas_cadence_once(people, pathway_bundle):
    pathway_bundle.deploy()
    with time_machine.travel(MONDAY, tick=False):
        created = meetings.generate_ahead(weeks=8)
        assert meetings.generate_ahead(weeks=8) == 0, "generating again adds nothing"
        listed = meetings.upcoming(people["business_support"], weeks=8)
    north = [s.meeting.starts_at for s in listed if s.meeting.area_code == "north"]
    south = [s.meeting.starts_at for s in listed if s.meeting.area_code == "south"]
    expected = [m.starts_at for m in pathway_bundle.scales.meetings("north", MONDAY.date(), 3)]
    assert [aware(t) for t in north] == [t for t in expected if t < MONDAY + timedelta(weeks=8)]
    weekday = WEEKDAYS.index(pathway_bundle.config["mace1"]["meetings"]["by_area"]["south"]["weekday"])
    assert len(south) == 8 and all(aware(t).astimezone(UK).weekday() == weekday for t in south)
    assert created == len(listed)


def test_the_agenda_builds_itself_from_the_cases_booked(child, people, pathway_bundle, first):
    meeting = meeting_at(first.starts_at)
    assert meeting is not None and meeting.plan_deadline == first.plan_deadline
    [item] = meetings.agenda(people["business_support"], meeting.id).items
    assert (item.booking.case_id, item.booking.kind, item.child_name) == (child.case.id, "new", "Casey Fictional")
    assert (item.plan_ready, item.outcome_task_id, item.minutes, aware(item.starts_at)) == \
        (False, None, minutes_per_case(pathway_bundle), first.starts_at)
    child.complete("share_plan")
    [item] = meetings.agenda(people["business_support"], meeting.id).items
    assert item.plan_ready, "ready by the plan deadline"
    viewed = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "meeting.view")).all()
    assert len(viewed) == 2


def test_items_follow_each_other_by_their_time_limit_and_a_late_plan_moves_the_case_on(
        people, pathway_bundle):
    pathway_bundle.deploy()
    booked = pathway_bundle.booked(MONDAY)
    following = pathway_bundle.scales.next_meeting("north", booked.starts_at.astimezone(UK).date())
    with time_machine.travel(MONDAY, tick=False) as clock:
        first, second, third = start_child(people, clock), start_child(people, clock), start_child(people, clock)
        for child in (first, second, third):
            walk(child, TO_MACE1)
        first.complete("share_plan")
        clock.move_to(day_after(booked.plan_deadline))  # a day after the plan deadline
        third.complete("share_plan")
    agenda = meetings.agenda(people["mace_chair"], meeting_at(booked.starts_at).id)
    assert [(i.booking.case_id, i.plan_ready) for i in agenda.items] == [(first.case.id, True),
                                                                         (second.case.id, False)]
    assert [aware(i.starts_at) for i in agenda.items] == [
        booked.starts_at, booked.starts_at + timedelta(minutes=minutes_per_case(pathway_bundle))]
    [(moved, move)] = agenda.moved_out
    assert (moved.case_id, move.moved_by_id, aware(move.to_meeting_at)) == (third.case.id, None, following.starts_at)
    assert "Plan not ready by the plan deadline" in move.reason
    [later] = meetings.agenda(people["mace_chair"], meeting_at(following.starts_at).id).items
    assert (later.booking.case_id, later.booking.kind, later.plan_ready) == (third.case.id, "new", True)


def test_review_cases_are_on_their_review_meetings_agenda(child, people, pathway_bundle, first):
    walk(child, ["share_plan", "circulate_plan", "agency_update"])
    child.travel(first.starts_at + timedelta(minutes=1))
    child.complete("mace1_outcome")
    walk(child, ["disseminate", "update_parents"])
    review = pathway_bundle.next_review(first)
    [item] = meetings.agenda(people["business_support"], meeting_at(review.starts_at).id).items
    assert (item.booking.case_id, item.booking.kind) == (child.case.id, "review")


def test_business_support_moves_a_case_to_the_next_meeting_with_a_reason_and_its_dates_follow(
        child, people, pathway_bundle, first, following):
    child.complete("share_plan")
    [item] = meetings.agenda(people["business_support"], meeting_at(first.starts_at).id).items
    meetings.move_to_next(people["business_support"], item.booking.id, "Police update not ready")
    old = meetings.agenda(people["business_support"], meeting_at(first.starts_at).id)
    assert old.items == [] and [(m.reason, aware(m.to_meeting_at)) for _, m in old.moved_out] == \
        [("Police update not ready", following.starts_at)]
    [moved] = meetings.agenda(people["business_support"], meeting_at(following.starts_at).id).items
    assert (moved.booking.case_id, moved.booking.kind) == (child.case.id, "new")
    circulate = child.step("circulate_plan")
    assert aware(circulate.due_at) == pathway_bundle.scales.before("circulate_plan", following.starts_at), \
        "its working days before the new meeting"
    child.complete("circulate_plan")
    [timer] = db.session.scalars(select(Timer)).all()
    assert aware(timer.fire_at) == following.starts_at, "the meeting timer moved too"
    child.travel(first.starts_at + timedelta(hours=1))
    assert child.open_steps() == ["agency_update"], "nothing happens at the old meeting"


def test_moving_needs_a_reason_the_right_role_and_area_and_a_meeting_not_yet_started(child, people, first):
    [item] = meetings.agenda(people["business_support"], meeting_at(first.starts_at).id).items
    with pytest.raises(InvalidInput) as raised:
        meetings.move_to_next(people["business_support"], item.booking.id, "  ")
    assert list(raised.value.errors) == ["reason"]
    with pytest.raises(Forbidden):
        meetings.move_to_next(people["allocated_worker"], item.booking.id, "x")
    with pytest.raises(NotFound):
        meetings.move_to_next(people["south_support"], item.booking.id, "x")
    child.clock.move_to(first.starts_at + timedelta(minutes=5))
    with pytest.raises(Conflict, match="meeting has started"):
        meetings.move_to_next(people["business_support"], item.booking.id, "late")


def test_the_attendance_register_keeps_deputies_and_shows_agencies_not_represented(child, people, first):
    meeting = meeting_at(first.starts_at)
    with pytest.raises(InvalidInput) as raised:
        meetings.record_attendance(people["business_support"], meeting.id, [
            {"agency": "police", "status": "deputy", "attendee": "PC Deputy"},
            {"agency": "fire_service", "status": "present", "attendee": "A Person"}])
    assert set(raised.value.errors) == {"entries.0.deputy_named_by", "entries.0.deputy_briefed", "entries.1.agency"}
    register = meetings.record_attendance(people["business_support"], meeting.id, [
        {"agency": "police", "status": "deputy", "attendee": "PC Deputy", "deputy_named_by": "Inspector Member",
         "deputy_briefed": True},
        {"agency": "health", "status": "present", "attendee": "Nurse Member"},
        {"agency": "camhs", "status": "absent"}])
    entries = {e.agency: (e.status, e.deputy_named_by, e.deputy_briefed) for e in register.entries}
    assert entries == {"police": ("deputy", "Inspector Member", True), "health": ("present", None, None),
                       "camhs": ("absent", None, None)}
    assert "camhs" in register.not_represented and "police" not in register.not_represented
    assert len(register.not_represented) == len(register.agencies) - 2


def test_recording_the_outcome_at_the_meeting_moves_the_childs_pathway_on(child, people, first):
    walk(child, ["share_plan", "circulate_plan"])
    meeting = meeting_at(first.starts_at)
    [item] = meetings.agenda(people["business_support"], meeting.id).items
    with pytest.raises(Conflict, match="opens when the meeting starts"):
        meetings.record_outcome(people["business_support"], meeting.id, item.booking.id, ANSWERS["mace1_outcome"])
    child.travel(first.starts_at + timedelta(minutes=1))
    task = meetings.record_outcome(people["business_support"], meeting.id, item.booking.id,
                                   {**ANSWERS["mace1_outcome"], "mace1_outcome": "close"})
    assert (task.element_id, task.completed_by_id) == ("mace1_outcome", people["business_support"].id)
    assert child.open_steps() == ["disseminate", "update_parents"]
    with pytest.raises(Conflict, match="already recorded"):
        meetings.record_outcome(people["business_support"], meeting.id, item.booking.id, ANSWERS["mace1_outcome"])
    _, [line] = meetings.outcome_summary(people["mace_chair"], meeting.id)
    assert line.facts["mace1_outcome"] == ["close"] and line.facts["risk_level"] == ["High"]


def test_the_invitation_is_an_ics_event_without_any_child(child, people, first):
    body = meetings.ics(people["business_support"], meeting_at(first.starts_at).id, "https://mace.example.org").decode()
    starts = first.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert "BEGIN:VEVENT" in body and f"DTSTART:{starts}" in body and "SUMMARY:MACE 1: North" in body
    assert "Casey" not in body
    meetings.register(people["mace_chair"], meeting_at(first.starts_at).id)
    meetings.upcoming(people["mace_chair"])
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"meeting.invitation", "meeting.register.view", "meetings.view"} <= actions, "every view is audited"


def test_reported_answers_become_case_facts(child):
    facts = {(f.kind, f.value) for f in db.session.scalars(select(CaseFact).where(CaseFact.case_id == child.case.id))}
    assert facts == {("exploitation_type", "criminal"), ("person_of_concern", "Older youth known as 'K'"),
                     ("location_of_concern", "Underpass by the retail park"), ("risk_level", "High")}


def test_every_childs_outcome_can_be_recorded_in_the_meeting(people, pathway_bundle):
    pathway_bundle.deploy()
    first_meeting = pathway_bundle.booked(MONDAY).starts_at
    with time_machine.travel(MONDAY, tick=False) as clock:
        children = [start_child(people, clock), start_child(people, clock)]
        for child in children:
            walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
        children[0].travel(first_meeting + timedelta(minutes=1))
        meeting = meeting_at(first_meeting)
        items = meetings.agenda(people["business_support"], meeting.id).items
        assert all(i.outcome_task_id is not None for i in items) and len(items) == 2
        for item in items:
            meetings.record_outcome(people["business_support"], meeting.id, item.booking.id, ANSWERS["mace1_outcome"])
        assert all(i.outcome_recorded for i in meetings.agenda(people["business_support"], meeting.id).items)


def test_a_case_already_waiting_for_its_meeting_moves_with_its_timer(child, people, first, following):
    walk(child, ["share_plan", "circulate_plan", "agency_update"])
    [timer] = db.session.scalars(select(Timer)).all()
    assert (timer.element_id, aware(timer.fire_at)) == ("meeting_day", first.starts_at)
    [item] = meetings.agenda(people["business_support"], meeting_at(first.starts_at).id).items
    meetings.move_to_next(people["business_support"], item.booking.id, "Chair unavailable for this case")
    db.session.expire_all()
    [timer] = db.session.scalars(select(Timer)).all()
    assert aware(timer.fire_at) == following.starts_at, "the waiting meeting timer follows the booking"
    child.travel(first.starts_at + timedelta(hours=1))
    assert child.open_steps() == []
    child.travel(following.starts_at + timedelta(minutes=1))
    assert child.open_steps() == ["mace1_outcome"]
