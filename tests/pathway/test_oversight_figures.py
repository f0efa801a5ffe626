"""Oversight figures that must not mislead, on the real pathway: no negative target, one name for a step run per
agency, late open work that a median would hide, the weekly trend narrowed by the filters, the outcome summary
complete and its risk level once, and a case moved to the later meeting business support chose."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from processes.engine import runtime
from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.errors import InvalidInput
from processes.engine.models import HumanTask
from processes.mace import meetings, oversight
from processes.mace.contract import BOOKING_VARIABLE
from processes.mace.models import Booking, Meeting
from processes.mace.timescales import Timescales
from processes.mace.working_days import UK
from tests.support.factories import BOTH_AREAS
from tests.support.pathway import (
    BEFORE_MEETING,
    FIRST_MEETING,
    MONDAY,
    SHIPPED,
    TO_MACE1,
    child_on_pathway,
    deploy_pathway,
    start_child,
    walk,
)


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS)


def stats_of(actor, element_id: str) -> oversight.StepStats:
    [found] = [s for s in oversight.bottlenecks(actor) if s.element_id == element_id]
    return found


@pytest.fixture
def at_the_meeting(people):
    """A child booked on north's first MACE 1 meeting, its plan circulated and agencies' views given."""
    deploy_pathway()
    with child_on_pathway(people, MONDAY) as child:
        walk(child, TO_MACE1 + BEFORE_MEETING)
        yield child


def test_a_step_that_opens_already_due_has_a_target_of_nothing_not_less(people, at_the_meeting):
    # The sweep reaches the meeting's timer only the next day: the outcome step opens after its due time.
    at_the_meeting.travel(FIRST_MEETING + timedelta(days=1, hours=2))
    at_the_meeting.clock.move_to(FIRST_MEETING + timedelta(days=1, hours=4))  # the chair records it later on
    outcome = stats_of(people["mace_chair"], "mace1_outcome")
    assert outcome.target_days == 0
    assert outcome.ratio is not None and outcome.ratio > 1, "any time it then takes is over target"


def test_a_step_run_once_per_agency_is_named_for_the_step_not_one_agency(people, at_the_meeting):
    agencies = Timescales(SHIPPED.config).core_agencies
    names = {t.name for t in db.session.scalars(select(HumanTask).where(HumanTask.element_id == "agency_update"))}
    assert len(names) > 1, "each agency's step is named for it"
    update = stats_of(people["mace_chair"], "agency_update")
    assert update.count == len(names)
    assert update.name == "Give your agency's view for MACE 1"
    assert not any(name in update.name for name in agencies.values())


def test_children_waiting_far_past_the_target_are_not_hidden_by_a_median_of_quick_decisions(people):
    deploy_pathway()
    with time_machine.travel(MONDAY, tick=False) as clock:
        children = [start_child(people, clock) for _ in range(7)]
        for child in children:
            child.complete("screen")
        for child in children[:4]:
            child.complete("hub_decision")  # decided at once: no time taken
        clock.move_to(MONDAY + timedelta(days=100))
        hub = stats_of(people["mace_chair"], "hub_decision")
    assert hub.median_days == 0, "the median alone says all is well"
    assert hub.longest_open_days == pytest.approx(100)
    assert hub.ratio > 1.5, "three referrals 100 days late count: red, not green"
    assert hub.over_target == 3


def test_the_weekly_trend_follows_the_dashboards_area_and_stage(people):
    deploy_pathway()
    with time_machine.travel(MONDAY, tick=False) as clock:
        late = start_child(people, clock)
        late.complete("screen")
        clock.move_to(MONDAY + timedelta(days=30))
        manager = people["team_manager"]
        everything = oversight.weekly_trend(manager)
        referral = oversight.weekly_trend(manager, filters=oversight.Filters(stage="referral"))
        other_stage = oversight.weekly_trend(manager, filters=oversight.Filters(stage="mace1"))
        south = oversight.weekly_trend(manager, filters=oversight.Filters(area="south"))
    assert everything[-1][1] == referral[-1][1] == 1, "the hub decision is late"
    assert sum(n for _, n in referral) > 0 and referral == everything
    assert all(n == 0 for _, n in other_stage), "no MACE 1 step is open"
    assert all(n == 0 for _, n in south), "the late step is north's"


def test_the_outcome_summary_gives_each_kind_once_as_last_recorded_and_what_was_agreed(people):
    deploy_pathway()
    # As the demo does: a case walked to MACE 1 after its meeting began, so the RIC's risk level is recorded
    # on the meeting's day too, and then booked into that meeting.
    with child_on_pathway(people, FIRST_MEETING + timedelta(minutes=30)) as child:
        walk(child, TO_MACE1 + BEFORE_MEETING, ric_record={"risk_level": "High"})
        day = FIRST_MEETING.astimezone(UK).date()
        booking = {"date": FIRST_MEETING.isoformat(), "day": day.isoformat(),
                   "plan_deadline": meetings.pathway_timescales().plan_deadline(day).isoformat()}
        runtime.set_variables(None, meetings.running_main(child.case.id).id, {BOOKING_VARIABLE: booking},
                              detail="test: a meeting under way")
        child.travel(FIRST_MEETING + timedelta(minutes=31))
        child.complete("mace1_outcome", agreed_risk_level="Low", challenges="Missed appointments",
                       additions_to_plan="Weekly check-in", measures_of_success_agreed="Attends school")
        meeting = db.session.scalar(select(Meeting).where(Meeting.area_code == "north",
                                                          Meeting.starts_at == FIRST_MEETING))
        _, [line] = meetings.outcome_summary(people["mace_chair"], meeting.id)
    assert line.facts["risk_level"] == ["Low"], "once: the level the meeting agreed, recorded last"
    assert line.facts["measures_of_success"] == ["Attends school"]
    assert line.facts["challenges"] == ["Missed appointments"]
    assert line.facts["plan_additions"] == ["Weekly check-in"]


def test_business_support_move_a_case_to_the_later_meeting_they_choose(people):
    deploy_pathway()
    with child_on_pathway(people, MONDAY) as child:
        walk(child, TO_MACE1)
        booking = db.session.scalar(select(Booking).where(Booking.case_id == child.case.id))
        choices = meetings.move_choices(booking)
        assert len(choices) == meetings.MOVE_CHOICES
        assert all(aware(c.starts_at) > aware(booking.meeting_at) for c in choices)
        support = people["business_support"]
        with pytest.raises(InvalidInput) as refused:
            meetings.move_to_next(support, booking.id, "Police not ready", "2031-01-01")
        assert set(refused.value.errors) == {"meeting"}
        assert booking.status == "booked", "nothing moved"
        third = choices[2]
        day = third.starts_at.astimezone(UK).date().isoformat()
        meetings.move_to_next(support, booking.id, "Police not ready", day)
        [now_booked] = db.session.scalars(select(Booking).where(Booking.case_id == child.case.id,
                                                                Booking.status == "booked"))
        assert aware(now_booked.meeting_at) == aware(third.starts_at), "the meeting chosen, not the next"
        assert aware(child.step("share_plan").due_at).astimezone(UK).date() == third.plan_deadline, \
            "the plan deadline follows it"
