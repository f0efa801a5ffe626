"""The MACE pathway of bpmn/ and forms/ on the real engine and database: every route, timer and due date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from processes.engine import bundle_files, runtime
from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.errors import InvalidInput
from processes.engine.models import AuditEvent, HumanTask, Timer
from processes.mace.demo import PATHWAY_FOLDERS
from processes.mace.working_days import UK
from tests.support.factories import BOTH_AREAS
from tests.support.pathway import (
    ANSWERS,
    BEFORE_MEETING,
    FIRST_MEETING,
    MONDAY,
    ROLE_OF_STEP,
    TO_MACE1,
    child_on_pathway,
    deploy_pathway,
    uk,
    walk,
)


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS)


@pytest.fixture
def child(people):
    deploy_pathway()
    with child_on_pathway(people, MONDAY) as on_pathway:
        yield on_pathway


def to_first_meeting(child, outcome: str = "continue_review", **outcome_answers):
    """Referral to the end of the first MACE 1 meeting, with its outcome recorded."""
    walk(child, TO_MACE1 + BEFORE_MEETING)
    assert child.open_steps() == [], "the outcome waits for the meeting"
    child.travel(FIRST_MEETING + timedelta(minutes=1))
    child.complete("mace1_outcome", mace1_outcome=outcome, **outcome_answers)


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


def test_the_hub_decision_is_due_one_working_day_later_across_a_bank_holiday_weekend(people):
    deploy_pathway()
    # Thursday before Easter 2027: Good Friday, the weekend and Easter Monday are not working days, and the
    # clocks go forward on the Sunday, so 10:00 on Thursday is due at 10:00 UK time on Tuesday.
    with child_on_pathway(people, uk(2027, 3, 25, 10, 0)) as child:
        child.complete("screen")
        assert aware(child.step("hub_decision").due_at) == uk(2027, 3, 30, 10, 0)


# RIC case discussion: the DMN route on the risk level


def test_high_risk_goes_to_a_ric_meeting_due_in_15_working_days(child):
    walk(child, ["screen", "hub_decision"])
    assert aware(child.step("ric_record").due_at) == uk(2027, 1, 18, 9, 0), "10 working days"
    child.clock.move_to(uk(2027, 1, 8, 14, 0))
    child.complete("ric_record", risk_level="High")
    assert child.open_steps() == ["ric_plan"]
    assert aware(child.step("ric_plan").due_at) == uk(2027, 1, 29, 14, 0)


def test_medium_risk_goes_to_community_support_which_can_close(child):
    walk(child, ["screen", "hub_decision"])
    child.complete("ric_record", risk_level="Medium")
    assert child.open_steps() == ["community_review"]
    assert aware(child.step("community_review").due_at) == MONDAY + timedelta(weeks=6)
    child.complete("community_review", community_outcome="close")
    assert child.state() == "completed" and len(child.instances()) == 1


def test_low_risk_closes_to_universal_services_with_advice(child):
    walk(child, ["screen", "hub_decision"])
    child.complete("ric_record", risk_level="Low")
    assert child.open_steps() == ["universal_services"]
    assert aware(child.step("universal_services").due_at) == uk(2027, 1, 11, 9, 0), "5 working days"
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


def test_the_ric_route_is_the_dmn_table_a_process_owner_edits(people):
    files = bundle_files.read_folder(*PATHWAY_FOLDERS)
    # The process owner decides that Medium risk also gets a RIC meeting: a change to the table alone.
    files["ric_route.dmn"] = files["ric_route.dmn"].replace('"community_support"', '"ric_meeting"')
    deploy_pathway(files)
    with child_on_pathway(people, MONDAY) as child:
        walk(child, ["screen", "hub_decision"])
        child.complete("ric_record", risk_level="Medium")
        assert child.open_steps() == ["ric_plan"]


# Booking onto MACE 1 and the plan deadline


def test_the_plan_is_due_28_days_before_the_booked_meeting_and_circulated_5_working_days_before(child):
    walk(child, TO_MACE1)
    assert aware(child.step("share_plan").due_at) == uk(2027, 1, 12, 23, 59, 59), "28 days before 9 Feb"
    assert child.step("share_plan").escalates
    child.complete("share_plan")
    assert aware(child.step("circulate_plan").due_at) == uk(2027, 2, 2, 10, 0)
    child.complete("circulate_plan")
    views = child.steps("agency_update")
    assert sorted(t.name for t in views) == ["Give your agency's view for MACE 1: Health",
                                             "Give your agency's view for MACE 1: Police"], "one per agency circulated"
    assert {aware(t.due_at) for t in views} == {uk(2027, 2, 8, 10, 0)}, "1 working day before"
    [timer] = db.session.scalars(select(Timer)).all()
    assert (timer.element_id, aware(timer.fire_at)) == ("meeting_started", FIRST_MEETING)


def test_the_christmas_holiday_extends_the_plan_deadline_so_a_late_plan_waits_for_the_next_meeting(people):
    deploy_pathway()
    # Ready on 2 December: January's meeting (12 Jan) would want the plan by 15 December, but its window touches
    # the Christmas holiday period, which extends it by 14 days: its deadline was 1 December, already gone.
    with child_on_pathway(people, uk(2026, 12, 2, 9, 0)) as child:
        walk(child, TO_MACE1)
        assert aware(child.step("share_plan").due_at) == uk(2027, 1, 12, 23, 59, 59), "booked for 9 February"


def test_a_plan_shared_after_its_deadline_is_booked_into_the_next_meeting(child):
    walk(child, TO_MACE1)
    child.clock.move_to(uk(2027, 1, 13, 9, 0))  # a day after the 9 February meeting's plan deadline
    child.complete("share_plan")
    assert aware(child.step("circulate_plan").due_at) == uk(2027, 3, 2, 10, 0), "5 working days before 9 March"


def test_a_review_done_after_its_meeting_goes_to_the_next_one_not_a_past_one(child):
    to_first_meeting(child)
    walk(child, ["disseminate", "update_parents"])
    child.travel(uk(2027, 5, 20, 9, 0))  # after the 11 May review meeting
    child.complete("review_plan")
    assert aware(child.step("share_plan").due_at) == uk(2027, 6, 15, 23, 59, 59), "13 July's plan deadline"
    walk(child, ["share_plan", "circulate_plan"])
    assert child.open_steps() == ["agency_update"], "core members get to give their view"


def test_weekly_meetings_on_tuesdays_in_an_area_configured_so(people):
    deploy_pathway()
    with child_on_pathway(people, MONDAY, area="south") as child:
        walk(child, TO_MACE1)
        # Tuesdays from 5 Jan: the first whose plan deadline (28 days, Christmas not counted) is still ahead.
        assert aware(child.step("share_plan").due_at) == uk(2027, 1, 5, 23, 59, 59)
        child.complete("share_plan")
        assert aware(child.step("circulate_plan").due_at) == uk(2027, 1, 26, 10, 0), "5 working days before 2 Feb"


# MACE 1 and the meeting timer


def test_the_outcome_opens_at_the_meeting_even_without_every_agency_view(child):
    walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
    child.travel(FIRST_MEETING - timedelta(minutes=1))
    assert child.open_steps() == ["agency_update"]
    child.travel(FIRST_MEETING + timedelta(seconds=1))
    assert child.open_steps() == ["mace1_outcome"], "the agency view closed when the meeting started"
    cancelled = db.session.scalar(select(HumanTask).where(HumanTask.element_id == "agency_update"))
    assert cancelled.status == "cancelled"
    outcome = child.step("mace1_outcome")
    assert aware(outcome.due_at) == uk(2027, 2, 9, 23, 59, 59) and outcome.escalates


def test_after_the_meeting_core_members_disseminate_and_the_worker_updates_the_parents(child):
    to_first_meeting(child)
    assert child.open_steps() == ["disseminate", "update_parents"]
    disseminations = child.steps("disseminate")
    assert len(disseminations) == 3, "each agency represented shares the discussion within its own organisation"
    for task in [*disseminations, child.step("update_parents")]:
        assert aware(task.due_at) == uk(2027, 2, 16, 10, 1), f"{task.name}: 5 working days"
    first = disseminations[0]
    runtime.complete_task(child.people["core_member"], first.id, ANSWERS["disseminate"])
    assert len(child.steps("disseminate")) == 2, "one agency's confirmation leaves the others' open"
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
def test_each_mace1_outcome_takes_its_route(child, outcome, escalation_agreed, next_steps):
    to_first_meeting(child, outcome, escalation_agreed=escalation_agreed)
    walk(child, ["disseminate", "update_parents"])
    assert child.open_steps() == next_steps


def test_closing_at_mace1_ends_the_pathway(child):
    to_first_meeting(child, "close")
    walk(child, ["disseminate", "update_parents"])
    assert child.open_steps() == [] and child.state() == "completed"
    assert db.session.scalars(select(Timer)).all() == []


def test_an_amended_plan_goes_back_to_the_next_mace1_in_a_new_cycle(child):
    to_first_meeting(child, "amend_plan")
    walk(child, ["disseminate", "update_parents"])
    assert [i.status for i in child.instances()] == ["completed", "running"]
    child.complete("ric_plan")
    assert aware(child.step("share_plan").due_at) == uk(2027, 2, 9, 23, 59, 59), "March meeting's deadline"


# Review


def test_review_waits_three_months_then_opens_before_the_review_meetings_plan_deadline(child):
    to_first_meeting(child)
    walk(child, ["disseminate", "update_parents"])
    # Three months after 9 Feb is 9 May; north's next meeting is Tue 11 May, whose plan deadline is 13 April.
    [timer] = db.session.scalars(select(Timer)).all()
    assert (timer.element_id, aware(timer.fire_at)) == ("review_starts", uk(2027, 3, 30, 0, 0)), \
        "10 working days before 13 April, Easter not counted"
    child.travel(uk(2027, 3, 29, 23, 59))
    assert child.open_steps() == []
    child.travel(uk(2027, 3, 30, 0, 1))
    assert child.open_steps() == ["review_plan"]
    assert aware(child.step("review_plan").due_at) == uk(2027, 4, 13, 23, 59, 59)
    assert [i.status for i in child.instances()] == ["completed", "running"]


@pytest.mark.parametrize(("outcome", "then"), [("step_down", ["community_review"]), ("close", [])])
def test_a_review_can_step_down_or_close(child, outcome, then):
    to_first_meeting(child)
    walk(child, ["disseminate", "update_parents"])
    child.travel(uk(2027, 3, 30, 9, 0))
    child.complete("review_plan", review_outcome=outcome)
    assert child.open_steps() == then


def test_a_review_loops_back_to_mace1_three_times_each_cycle_a_fresh_instance(child):
    to_first_meeting(child)
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
    assert meetings == ["2027-05-11", "2027-08-10", "2027-11-09"], "about every three months, second Tuesdays"
    chain = child.instances()
    assert len(chain) == 4 and [i.previous_id for i in chain[1:]] == [i.id for i in chain[:-1]]
    assert [i.status for i in chain] == ["completed"] * 3 + ["running"]
    counts = [len(i.state) for i in chain[1:3]]
    assert abs(counts[0] - counts[1]) < counts[0] * 0.05, "a review cycle's state does not grow with the case"


# Escalation


def test_escalation_of_a_plan_not_succeeding_goes_to_the_agencies_then_onwards_then_back_to_mace1(child):
    to_first_meeting(child, "escalate", plan_delivery="not_delivered")
    walk(child, ["disseminate", "update_parents"])
    agree = child.step("agree_escalation")
    assert agree.escalates and aware(agree.due_at) == uk(2027, 2, 11, 10, 1), "2 working days"
    child.complete("agree_escalation", respond_by="2027-02-26")
    response = child.step("agency_response")
    assert (response.role, aware(response.due_at)) == ("core_member", uk(2027, 2, 26, 23, 59, 59))
    child.clock.move_to(uk(2027, 2, 25, 16, 0))
    child.complete("agency_response")
    assert aware(child.step("check_response").due_at) == uk(2027, 3, 1, 16, 0), "2 working days, not the weekend"
    child.complete("check_response", escalation_resolved=False)
    onwards = child.step("escalate_onwards")
    assert (onwards.role, aware(onwards.due_at), onwards.escalates) == ("mace_chair", uk(2027, 3, 1, 16, 0), True)
    child.complete("escalate_onwards")
    assert [i.status for i in child.instances()] == ["completed", "running"]
    assert child.open_steps() == ["share_plan"], "booked onto the next MACE 1"


def test_a_resolved_escalation_goes_straight_back_to_mace1(child):
    to_first_meeting(child, "escalate")
    walk(child, ["disseminate", "update_parents", "agree_escalation", "agency_response"])
    child.complete("check_response", escalation_resolved=True)
    assert child.open_steps() == ["share_plan"]


# Missing episodes


def test_a_missing_episode_mid_pathway_starts_a_return_home_interview_due_in_72_hours(child, people):
    walk(child, TO_MACE1)
    returned = uk(2027, 1, 8, 22, 30)
    [episode] = runtime.deliver_message(people["missing_coordinator"], child.case.id, "missing_episode",
                                        {"returned_at": returned.isoformat()})
    assert episode.process_id == "missing_episode"
    assert child.open_steps() == ["return_interview", "share_plan"], "the main pathway carries on"
    interview = child.step("return_interview")
    assert (interview.role, aware(interview.due_at)) == ("missing_coordinator", returned + timedelta(hours=72))
    child.complete("return_interview")
    assert child.open_steps() == ["share_plan"]


def test_a_repeat_missing_episode_prompts_an_early_risk_review(child, people):
    runtime.deliver_message(people["missing_coordinator"], child.case.id, "missing_episode",
                            {"returned_at": MONDAY.isoformat()})
    child.complete("return_interview", repeat_episode=True)
    assert child.open_steps() == ["early_risk_review", "screen"]
    review = child.step("early_risk_review")
    assert (review.role, aware(review.due_at)) == ("allocated_worker", uk(2027, 1, 11, 9, 0))


# Closing the loop


def test_a_fictional_child_from_referral_through_ric_mace1_two_reviews_and_closure(child):
    """The issue's done-when: referral, RIC, MACE 1, two reviews and closure, on the real engine."""
    to_first_meeting(child)
    walk(child, ["disseminate", "update_parents"])
    child.travel(uk(2027, 3, 30, 9, 0))  # first review
    child.complete("review_plan", review_outcome="mace1")
    walk(child, BEFORE_MEETING)
    child.travel(uk(2027, 5, 11, 10, 1))
    child.complete("mace1_outcome", mace1_outcome="continue_review")
    walk(child, ["disseminate", "update_parents"])
    [timer] = db.session.scalars(select(Timer)).all()
    child.travel(aware(timer.fire_at) + timedelta(hours=1))  # second review
    child.complete("review_plan", review_outcome="close", risk_level_now="Low")
    assert child.open_steps() == [] and child.state() == "completed"
    assert db.session.scalars(select(Timer)).all() == []
    assert child.done.count("mace1_outcome") == 2 and child.done.count("review_plan") == 2
    fired = [e.detail for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.fire"))]
    assert fired == ["meeting_day", "review_starts", "meeting_day", "review_starts"]
    stored = " ".join(i.state for i in child.instances())
    assert "Casey Fictional" not in stored, "the child's name stays on the case, not in workflow state"


# What callers may not do


def test_a_start_cannot_name_where_its_cycle_begins_or_set_what_the_pathway_works_out(people):
    deploy_pathway()
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


def test_answers_left_out_this_cycle_do_not_keep_last_cycles(child):
    from processes.engine import bundle as bundles
    from processes.engine import serialization

    def open_step_data(element_id):
        instance = [i for i in child.instances() if i.status == "running"][-1]
        workflow = serialization.load(instance.state, bundles.for_definition(instance.definition), "mace")
        [task] = [t for t in workflow.get_tasks(manual=True) if t.task_spec.bpmn_id == element_id
                  and t.state == TaskState.READY]
        return task.data

    to_first_meeting(child, challenges="No school place yet")
    assert open_step_data("update_parents")["challenges"] == "No school place yet"
    walk(child, ["disseminate", "update_parents"])
    child.travel(uk(2027, 3, 30, 9, 0))
    walk(child, ["review_plan", *BEFORE_MEETING])
    child.travel(uk(2027, 5, 11, 10, 1))
    child.complete("mace1_outcome")  # no challenges this time
    assert "challenges" not in open_step_data("update_parents")
