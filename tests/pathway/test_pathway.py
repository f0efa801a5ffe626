"""The MACE pathway of bpmn/ and forms/ on the real engine and database: every route, timer and due date, each
due date worked out from the timescales deployed (the shipped ones, and a copy with every timescale changed)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from processes.engine import runtime
from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.errors import InvalidInput
from processes.engine.models import AuditEvent, HumanTask, Timer
from processes.mace.timescales import Meeting, Timescales
from processes.mace.working_days import UK, add_working_days
from tests.support.factories import BOTH_AREAS
from tests.support.pathway import (
    ANSWERS,
    BEFORE_MEETING,
    MONDAY,
    ROLE_OF_STEP,
    TO_MACE1,
    child_on_pathway,
    deploy_pathway,
    end_of,
    uk,
    walk,
)


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS)


@pytest.fixture
def child(people, pathway_bundle):
    pathway_bundle.deploy()
    with child_on_pathway(people, MONDAY) as on_pathway:
        yield on_pathway


@pytest.fixture
def scales(pathway_bundle) -> Timescales:
    """The timescales the test's pathway was deployed with."""
    return pathway_bundle.scales


@pytest.fixture
def first(pathway_bundle) -> Meeting:
    """North's first MACE 1 with a plan deadline still ahead on MONDAY, when the child's plan is booked."""
    return pathway_bundle.booked(MONDAY)


def to_first_meeting(child, first: Meeting, outcome: str = "continue_review", **outcome_answers):
    """Referral to the end of the first MACE 1 meeting, with its outcome recorded a minute after it starts."""
    walk(child, TO_MACE1 + BEFORE_MEETING)
    assert child.open_steps() == [], "the outcome waits for the meeting"
    child.travel(first.starts_at + timedelta(minutes=1))
    child.complete("mace1_outcome", mace1_outcome=outcome, **outcome_answers)


def review_opens(pathway_bundle, first: Meeting) -> datetime:
    """When the review after the first meeting opens: its working days before the review meeting's plan deadline."""
    return pathway_bundle.scales.before("review_update", pathway_bundle.next_review(first).plan_deadline)


# Referral and the hub decision


def test_every_step_of_a_referral_goes_to_its_role_in_the_childs_area(child):
    assert [(t.element_id, t.role, t.area_code) for t in [child.step("screen")]] == [("screen", "referrer", "north")]
    for step in TO_MACE1 + BEFORE_MEETING:
        task = child.complete(step)
        assert task.role == ROLE_OF_STEP[step], step


@pytest.mark.parametrize("decision", ["no_further_action", "other_services"])
def test_a_referral_the_hub_does_not_allocate_closes_at_the_front_door(child, decision):
    child.complete("screen")
    child.complete("hub_decision", hub_decision=decision, other_service="early_help")
    assert child.open_steps() == [] and child.state() == "completed"


def test_passing_to_other_services_needs_the_service_named(child):
    child.complete("screen")
    with pytest.raises(InvalidInput) as raised:
        child.complete("hub_decision", hub_decision="other_services")
    assert list(raised.value.errors) == ["other_service"]
    assert child.open_steps() == ["hub_decision"]


def test_the_hub_decision_is_due_its_working_days_later_across_a_bank_holiday_weekend(people, pathway_bundle, scales):
    pathway_bundle.deploy()
    # Thursday before Easter 2027: Good Friday, the weekend and Easter Monday are not working days, and the
    # clocks go forward on the Sunday, so 10:00 on Thursday stays 10:00 UK time (1 working day: on Tuesday).
    referred = uk(2027, 3, 25, 10, 0)
    assert scales.config["timescales"]["hub_decision"]["unit"] == "working_days"
    with child_on_pathway(people, referred) as child:
        child.complete("screen")
        assert aware(child.step("hub_decision").due_at) == add_working_days(
            referred, scales.config["timescales"]["hub_decision"]["amount"])


# RIC case discussion: the DMN route on the risk level


def test_high_risk_goes_to_a_ric_meeting_due_its_timescale_after_the_case_discussion(child, scales):
    walk(child, ["screen", "hub_decision"])
    assert aware(child.step("ric_record").due_at) == scales.after("ric_case_discussion", MONDAY)
    discussed = uk(2027, 1, 8, 14, 0)
    child.clock.move_to(discussed)
    child.complete("ric_record", risk_level="High")
    assert child.open_steps() == ["ric_plan"]
    assert aware(child.step("ric_plan").due_at) == scales.after("ric_meeting", discussed)


def test_medium_risk_goes_to_community_support_which_can_close(child, scales):
    walk(child, ["screen", "hub_decision"])
    child.complete("ric_record", risk_level="Medium")
    assert child.open_steps() == ["community_review"]
    assert aware(child.step("community_review").due_at) == scales.after("community_review", MONDAY)
    child.complete("community_review", community_outcome="close")
    assert child.state() == "completed" and len(child.instances()) == 1


def test_low_risk_closes_to_universal_services_with_advice(child, scales):
    walk(child, ["screen", "hub_decision"])
    child.complete("ric_record", risk_level="Low")
    assert child.open_steps() == ["universal_services"]
    assert aware(child.step("universal_services").due_at) == scales.after("universal_services", MONDAY)
    child.complete("universal_services")
    assert child.state() == "completed"


def test_risk_rising_in_the_community_starts_a_new_cycle_at_the_ric_case_discussion(child):
    walk(child, ["screen", "hub_decision"])
    child.complete("ric_record", risk_level="Medium")
    child.complete("community_review", community_outcome="ric_discussion")
    first, second = child.instances()
    assert (first.status, second.status, second.previous_id) == ("completed", "running", first.id)
    assert child.open_steps() == ["ric_record"], "no second referral: straight to the RIC case discussion"


def test_a_plan_below_the_mace1_threshold_is_supported_in_the_community(child):
    walk(child, ["screen", "hub_decision", "ric_record"])
    child.complete("ric_plan", mace1_threshold_met=False)
    assert child.open_steps() == ["community_review"]


def test_the_ric_route_is_the_dmn_table_a_process_owner_edits(people, pathway_bundle):
    files = dict(pathway_bundle.files)
    # The process owner decides that Medium risk also gets a RIC meeting: a change to the table alone.
    files["ric_route.dmn"] = files["ric_route.dmn"].replace('"community_support"', '"ric_meeting"')
    deploy_pathway(files)
    with child_on_pathway(people, MONDAY) as child:
        walk(child, ["screen", "hub_decision"])
        child.complete("ric_record", risk_level="Medium")
        assert child.open_steps() == ["ric_plan"]


# Booking onto MACE 1 and the plan deadline


def test_the_plan_is_due_its_days_before_the_booked_meeting_and_circulated_its_working_days_before(
        child, scales, first):
    walk(child, TO_MACE1)
    days_before = scales.config["mace1"]["plan_ready_days_before"]
    assert first.plan_deadline <= first.starts_at.astimezone(UK).date() - timedelta(days=days_before)
    assert aware(child.step("share_plan").due_at) == end_of(first.plan_deadline), "the plan deadline's end"
    assert child.step("share_plan").escalates
    child.complete("share_plan")
    assert aware(child.step("circulate_plan").due_at) == scales.before("circulate_plan", first.starts_at)
    child.complete("circulate_plan")
    views = child.steps("agency_update")
    agencies = scales.core_agencies
    circulated = ANSWERS["circulate_plan"]["circulated_to"]
    assert sorted(t.name for t in views) == sorted(f"Give your agency's view for MACE 1: {agencies[code]}"
                                                   for code in circulated), "one per agency circulated"
    assert {aware(t.due_at) for t in views} == {scales.before("agency_update", first.starts_at)}
    [timer] = db.session.scalars(select(Timer)).all()
    assert (timer.element_id, aware(timer.fire_at)) == ("meeting_started", first.starts_at)


def test_the_christmas_holiday_extends_the_plan_deadline_so_a_late_plan_waits_for_the_next_meeting(
        people, pathway_bundle):
    pathway_bundle.deploy()
    # Ready on 2 December: January's meeting would want the plan by mid December, but its window touches the
    # Christmas holiday period, which extends it: its deadline had already gone, so February's meeting it is.
    ready = uk(2026, 12, 2, 9, 0)
    booked = pathway_bundle.booked(ready)
    with time_machine.travel(ready, tick=False):
        without_holidays = pathway_bundle.without_holidays().book("north")
    assert without_holidays.starts_at < booked.starts_at, "the holiday period is what moves the booking on"
    with child_on_pathway(people, ready) as child:
        walk(child, TO_MACE1)
        assert aware(child.step("share_plan").due_at) == end_of(booked.plan_deadline), "booked for February"


def test_a_plan_shared_after_its_deadline_is_booked_into_the_next_meeting(child, pathway_bundle, scales, first):
    walk(child, TO_MACE1)
    late = datetime.combine(first.plan_deadline + timedelta(days=1), time(9, 0), UK)  # a day after the deadline
    child.clock.move_to(late)
    child.complete("share_plan")
    following = pathway_bundle.booked(late)
    assert following.starts_at > first.starts_at
    assert aware(child.step("circulate_plan").due_at) == scales.before("circulate_plan", following.starts_at)


def test_a_review_done_after_its_meeting_goes_to_the_next_one_not_a_past_one(child, pathway_bundle, first):
    to_first_meeting(child, first)
    walk(child, ["disseminate", "update_parents"])
    review_meeting = pathway_bundle.next_review(first)
    late = review_meeting.starts_at + timedelta(days=9)  # after the review meeting
    child.travel(late)
    child.complete("review_plan")
    assert aware(child.step("share_plan").due_at) == end_of(pathway_bundle.booked(late).plan_deadline)
    walk(child, ["share_plan", "circulate_plan"])
    assert child.open_steps() == ["agency_update"], "core members get to give their view"


def test_weekly_meetings_in_an_area_configured_so(people, pathway_bundle, scales):
    pathway_bundle.deploy()
    cadence = scales.config["mace1"]["meetings"]["by_area"]["south"]
    booked = pathway_bundle.booked(MONDAY, "south")
    assert cadence["frequency"] == "weekly" and booked.starts_at.astimezone(UK).strftime("%A").lower() == \
        cadence["weekday"]
    with child_on_pathway(people, MONDAY, area="south") as child:
        walk(child, TO_MACE1)
        # Each week's meeting: the first whose plan deadline (holiday periods counted) is still ahead.
        assert aware(child.step("share_plan").due_at) == end_of(booked.plan_deadline)
        child.complete("share_plan")
        assert aware(child.step("circulate_plan").due_at) == scales.before("circulate_plan", booked.starts_at)


# MACE 1 and the meeting timer


def test_the_outcome_opens_at_the_meeting_even_without_every_agency_view(child, first):
    walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
    child.travel(first.starts_at - timedelta(minutes=1))
    assert child.open_steps() == ["agency_update"]
    child.travel(first.starts_at + timedelta(seconds=1))
    assert child.open_steps() == ["mace1_outcome"], "the agency view closed when the meeting started"
    cancelled = db.session.scalar(select(HumanTask).where(HumanTask.element_id == "agency_update"))
    assert cancelled.status == "cancelled"
    outcome = child.step("mace1_outcome")
    assert aware(outcome.due_at) == end_of(first.starts_at.astimezone(UK).date()) and outcome.escalates


def test_after_the_meeting_core_members_disseminate_and_the_worker_updates_the_parents(child, scales, first):
    to_first_meeting(child, first)
    assert child.open_steps() == ["disseminate", "update_parents"]
    disseminations = child.steps("disseminate")
    assert len(disseminations) == len(ANSWERS["circulate_plan"]["circulated_to"]), \
        "each agency the plan went to shares the discussion within its own organisation"
    recorded = first.starts_at + timedelta(minutes=1)
    for task in disseminations:
        assert aware(task.due_at) == scales.after("dissemination", recorded), task.name
    assert aware(child.step("update_parents").due_at) == scales.after("parents_update", recorded)
    first = disseminations[0]
    runtime.complete_task(child.actor_for(first), first.id, ANSWERS["disseminate"])
    assert len(child.steps("disseminate")) == len(disseminations) - 1, \
        "one agency's confirmation leaves the others' open"
    child.complete("disseminate")
    assert child.open_steps() == ["update_parents"], "the review waits until both are done"
    child.complete("update_parents")
    assert child.open_steps() == []


@pytest.mark.parametrize(("outcome", "escalation_agreed", "next_steps"), [
    ("amend_plan", False, ["ric_plan"]),
    ("step_down", False, ["community_review"]),
    ("escalate", False, ["agree_escalation"]),
    ("continue_review", True, ["agree_escalation"]),  # agreed escalation wins, whatever else was recorded
])
def test_each_mace1_outcome_takes_its_route(child, first, outcome, escalation_agreed, next_steps):
    to_first_meeting(child, first, outcome, escalation_agreed=escalation_agreed)
    walk(child, ["disseminate", "update_parents"])
    assert child.open_steps() == next_steps


def test_closing_at_mace1_ends_the_pathway(child, first):
    to_first_meeting(child, first, "close")
    walk(child, ["disseminate", "update_parents"])
    assert child.open_steps() == [] and child.state() == "completed"
    assert db.session.scalars(select(Timer)).all() == []


def test_an_amended_plan_goes_back_to_the_next_mace1_in_a_new_cycle(child, pathway_bundle, first):
    to_first_meeting(child, first, "amend_plan")
    walk(child, ["disseminate", "update_parents"])
    assert [i.status for i in child.instances()] == ["completed", "running"]
    child.complete("ric_plan")
    following = pathway_bundle.booked(first.starts_at + timedelta(minutes=1))
    assert following.starts_at > first.starts_at
    assert aware(child.step("share_plan").due_at) == end_of(following.plan_deadline), "the next meeting's deadline"


# Review


def test_review_waits_its_months_then_opens_before_the_review_meetings_plan_deadline(
        child, pathway_bundle, scales, first):
    to_first_meeting(child, first)
    walk(child, ["disseminate", "update_parents"])
    # The review falls due its months after the meeting; the area's meeting nearest then hears it, and the
    # review opens its working days (bank holidays not counted) before that meeting's plan deadline.
    review_meeting = pathway_bundle.next_review(first)
    opens = scales.before("review_update", review_meeting.plan_deadline)
    [timer] = db.session.scalars(select(Timer)).all()
    assert (timer.element_id, aware(timer.fire_at)) == ("review_starts", opens)
    child.travel(opens - timedelta(minutes=1))
    assert child.open_steps() == []
    child.travel(opens + timedelta(minutes=1))
    assert child.open_steps() == ["review_plan"]
    assert aware(child.step("review_plan").due_at) == end_of(review_meeting.plan_deadline)
    assert [i.status for i in child.instances()] == ["completed", "running"]


@pytest.mark.parametrize(("outcome", "then"), [("step_down", ["community_review"]), ("close", [])])
def test_a_review_can_step_down_or_close(child, pathway_bundle, first, outcome, then):
    to_first_meeting(child, first)
    walk(child, ["disseminate", "update_parents"])
    child.travel(review_opens(pathway_bundle, first) + timedelta(hours=9))
    child.complete("review_plan", review_outcome=outcome)
    assert child.open_steps() == then


def test_a_review_loops_back_to_mace1_three_times_each_cycle_a_fresh_instance(child, pathway_bundle, first):
    to_first_meeting(child, first)
    walk(child, ["disseminate", "update_parents"])
    meetings = []
    for _ in range(3):
        [timer] = db.session.scalars(select(Timer).where(Timer.element_id == "review_starts")).all()
        child.travel(aware(timer.fire_at) + timedelta(minutes=1))
        child.complete("review_plan", review_outcome="mace1")
        walk(child, BEFORE_MEETING)
        [meeting] = db.session.scalars(select(Timer).where(Timer.element_id == "meeting_day")).all()
        meetings.append(aware(meeting.fire_at).astimezone(UK).date().isoformat())
        child.travel(aware(meeting.fire_at) + timedelta(minutes=1))
        child.complete("mace1_outcome")
        walk(child, ["disseminate", "update_parents"])
    expected, meeting = [], first
    for _ in range(3):
        meeting = pathway_bundle.next_review(meeting)
        expected.append(meeting.starts_at.astimezone(UK).date().isoformat())
    assert meetings == expected, "about every review period, on the area's meeting days"
    chain = child.instances()
    assert len(chain) == 4 and [i.previous_id for i in chain[1:]] == [i.id for i in chain[:-1]]
    assert [i.status for i in chain] == ["completed"] * 3 + ["running"]
    counts = [len(i.state) for i in chain[1:3]]
    assert abs(counts[0] - counts[1]) < counts[0] * 0.05, "a review cycle's state does not grow with the case"


# Escalation


def test_escalation_of_a_plan_not_succeeding_goes_to_the_agencies_then_onwards_then_back_to_mace1(
        child, scales, first):
    to_first_meeting(child, first, "escalate", plan_delivery="not_delivered")
    walk(child, ["disseminate", "update_parents"])
    agree = child.step("agree_escalation")
    assert agree.escalates and aware(agree.due_at) == scales.after("escalation_agreed",
                                                                   first.starts_at + timedelta(minutes=1))
    respond_by = first.starts_at.astimezone(UK).date() + timedelta(days=17)
    child.complete("agree_escalation", respond_by=respond_by.isoformat())
    response = child.step("agency_response")
    assert (response.role, aware(response.due_at)) == ("core_member", end_of(respond_by))
    responded = datetime.combine(respond_by - timedelta(days=1), time(16, 0), UK)
    child.clock.move_to(responded)
    child.complete("agency_response")
    assert aware(child.step("check_response").due_at) == scales.after("escalation_check", responded)
    child.complete("check_response", escalation_resolved=False)
    onwards = child.step("escalate_onwards")
    assert (onwards.role, aware(onwards.due_at), onwards.escalates) == \
        ("mace_chair", scales.after("escalation_onward", responded), True)
    child.complete("escalate_onwards")
    assert [i.status for i in child.instances()] == ["completed", "running"]
    assert child.open_steps() == ["share_plan"], "booked onto the next MACE 1"


def test_a_resolved_escalation_goes_straight_back_to_mace1(child, first):
    to_first_meeting(child, first, "escalate")
    walk(child, ["disseminate", "update_parents", "agree_escalation", "agency_response"])
    child.complete("check_response", escalation_resolved=True)
    assert child.open_steps() == ["share_plan"]


# Missing episodes


def test_a_missing_episode_mid_pathway_starts_a_return_home_interview_due_its_hours_after_return(
        child, people, scales):
    walk(child, TO_MACE1)
    returned = uk(2027, 1, 8, 22, 30)
    child.travel(returned + timedelta(minutes=30))  # told of the return once it has happened
    [episode] = runtime.deliver_message(people["missing_coordinator"], child.case.id, "missing_episode",
                                        {"returned_at": returned.isoformat()})
    assert episode.process_id == "missing_episode"
    assert child.open_steps() == ["return_interview", "share_plan"], "the main pathway carries on"
    interview = child.step("return_interview")
    assert (interview.role, aware(interview.due_at)) == \
        ("missing_coordinator", scales.after("return_home_interview", returned))
    child.complete("return_interview")
    assert child.open_steps() == ["share_plan"]


def test_a_repeat_missing_episode_prompts_an_early_risk_review(child, people, scales):
    runtime.deliver_message(people["missing_coordinator"], child.case.id, "missing_episode",
                            {"returned_at": MONDAY.isoformat()})
    child.complete("return_interview", repeat_episode=True)
    assert child.open_steps() == ["early_risk_review", "screen"]
    review = child.step("early_risk_review")
    assert (review.role, aware(review.due_at)) == ("allocated_worker", scales.after("early_risk_review", MONDAY))


# Closing the loop


def test_a_fictional_child_from_referral_through_ric_mace1_two_reviews_and_closure(
        child, pathway_bundle, first):
    """The issue's done-when: referral, RIC, MACE 1, two reviews and closure, on the real engine."""
    to_first_meeting(child, first)
    walk(child, ["disseminate", "update_parents"])
    child.travel(review_opens(pathway_bundle, first) + timedelta(hours=9))  # first review
    child.complete("review_plan", review_outcome="mace1")
    walk(child, BEFORE_MEETING)
    child.travel(pathway_bundle.next_review(first).starts_at + timedelta(minutes=1))
    child.complete("mace1_outcome", mace1_outcome="continue_review")
    walk(child, ["disseminate", "update_parents"])
    [timer] = db.session.scalars(select(Timer)).all()
    child.travel(aware(timer.fire_at) + timedelta(hours=1))  # second review
    child.complete("review_plan", review_outcome="close", risk_level_now="Low")
    assert child.open_steps() == [] and child.state() == "completed"
    assert db.session.scalars(select(Timer)).all() == []
    assert child.done.count("mace1_outcome") == 2 and child.done.count("review_plan") == 2
    fired = [e.detail for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.fire")
                                                .order_by(AuditEvent.id))]
    assert fired == ["meeting_day", "review_starts", "meeting_day", "review_starts"]
    stored = " ".join(i.state for i in child.instances())
    assert "Casey Fictional" not in stored, "the child's name stays on the case, not in workflow state"


# What callers may not do


def test_a_start_cannot_name_where_its_cycle_begins_or_set_what_the_pathway_works_out(people, pathway_bundle):
    pathway_bundle.deploy()
    with child_on_pathway(people, MONDAY) as child:
        before = child.instances()
        for data in ({"resume_at": "book"}, {"mace1": {"date": "2027-01-05T10:00:00+00:00"}}, {"case_area": "south"},
                     {"ric_route": "ric_meeting"}):
            with pytest.raises(InvalidInput) as raised:
                runtime.start(people["referrer"], child.case.id, "mace", data)
            assert list(raised.value.errors) == ["data"] and next(iter(data)) in raised.value.errors["data"][0]
        assert child.instances() == before


@pytest.mark.parametrize("payload", [{}, {"returned_at": "last night"}, {"returned_at": 5}])
def test_a_missing_episode_without_a_return_time_is_refused_naming_the_field(child, people, payload):
    with pytest.raises(InvalidInput) as raised:
        runtime.deliver_message(people["missing_coordinator"], child.case.id, "missing_episode", payload)
    assert list(raised.value.errors) == ["payload.returned_at"]
    assert child.open_steps() == ["screen"] and len(child.instances()) == 1


def test_answers_left_out_this_cycle_do_not_keep_last_cycles(child, pathway_bundle, first):
    from processes.engine import bundle as bundles
    from processes.engine import serialization

    def open_step_data(element_id):
        instance = [i for i in child.instances() if i.status == "running"][-1]
        workflow = serialization.load(instance.state, bundles.for_definition(instance.definition), "mace")
        [task] = [t for t in workflow.get_tasks(manual=True) if t.task_spec.bpmn_id == element_id
                  and t.state == TaskState.READY]
        return task.data

    to_first_meeting(child, first, challenges="No school place yet")
    assert open_step_data("update_parents")["challenges"] == "No school place yet"
    walk(child, ["disseminate", "update_parents"])
    child.travel(review_opens(pathway_bundle, first) + timedelta(hours=9))
    walk(child, ["review_plan", *BEFORE_MEETING])
    child.travel(pathway_bundle.next_review(first).starts_at + timedelta(minutes=1))
    child.complete("mace1_outcome")  # no challenges this time
    assert "challenges" not in open_step_data("update_parents")
