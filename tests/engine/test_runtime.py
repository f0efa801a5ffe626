"""The runtime service on the real engine and database: routes, due dates, timers, messages, cycles."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from processes.engine import history, runtime, tasks
from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from processes.engine.models import AuditEvent, ProcessInstance, Timer
from processes.mace import cases
from tests.support.factories import SET_UP_ACTIONS, person, start_case
from tests.support.tasks import open_task, open_tasks, snapshot, swept

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(make_people):
    return make_people(referrer=person("referrer"), hub=person("hub_practitioner"), worker=person("allocated_worker"),
                       missing=person("missing_coordinator"), manager=person("team_manager"),
                       south_hub=person("hub_practitioner", areas=("south",)))


@pytest.fixture
def referral(people, deploy):
    deploy("screening")
    return start_case(people["referrer"], "screening", "Test Child")


def screen_and_decide(people, case, decision):
    runtime.complete_task(people["referrer"], open_task(case.id, "screen").id,
                          {"exploitation_types": ["criminal"], "concern": "Seen with older youths"})
    runtime.complete_task(people["hub"], open_task(case.id, "hub_decision").id, {"decision": decision})


def test_starting_opens_the_first_task_for_its_role_and_area(referral):
    case, instance = referral
    [task] = open_tasks(case.id)
    assert (task.element_id, task.role, task.area_code, task.name) == \
        ("screen", "referrer", "north", "Complete CE screening tool")
    assert instance.status == "running" and instance.definition.version == 1


def test_allocate_route_runs_the_script_and_opens_the_ric_discussion(people, referral):
    case, instance = referral
    screen_and_decide(people, case, "allocate")
    [task] = open_tasks(case.id)
    assert (task.element_id, task.role) == ("ric_discussion", "allocated_worker")
    runtime.complete_task(people["worker"], task.id, {"risk_level": "High"})
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).status == "completed"
    assert '"ric_requested": true' in db.session.get(ProcessInstance, instance.id).state


def test_no_further_action_ends_the_pathway(people, referral):
    case, instance = referral
    screen_and_decide(people, case, "no_further_action")
    assert open_tasks(case.id) == []
    assert db.session.get(ProcessInstance, instance.id).status == "completed"


def test_hub_decision_is_due_one_day_after_it_opens(people, referral):
    case, _ = referral
    with time_machine.travel(START, tick=False):
        runtime.complete_task(people["referrer"], open_task(case.id, "screen").id,
                              {"exploitation_types": ["online"], "concern": "Messages from an adult"})
    assert aware(open_task(case.id, "hub_decision").due_at) == START + timedelta(days=1)


def test_timer_waits_then_fires_once_when_due(people, referral):
    case, instance = referral
    with time_machine.travel(START, tick=False):
        screen_and_decide(people, case, "other_services")
    [timer] = db.session.scalars(select(Timer)).all()
    assert (timer.element_id, aware(timer.fire_at)) == ("wait_followup", START + timedelta(hours=72))
    assert open_tasks(case.id) == []

    with time_machine.travel(START + timedelta(hours=71), tick=False):
        assert swept()["timers"] == []
        assert runtime.fire_due_timers(instance.id) == []
    with time_machine.travel(START + timedelta(hours=72, seconds=1), tick=False):
        assert swept()["timers"] == [instance.id]
        assert runtime.fire_due_timers(instance.id) == ["wait_followup"]
        assert runtime.fire_due_timers(instance.id) == [], "a second firing must change nothing"
    assert [t.element_id for t in open_tasks(case.id)] == ["followup"]
    assert db.session.scalars(select(Timer)).all() == []
    fired = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.fire")).all()
    assert [e.detail for e in fired] == ["wait_followup"]


def test_invalid_form_data_names_each_field_and_changes_nothing(people, referral):
    case, instance = referral
    task = open_task(case.id, "screen")
    before = snapshot(instance.id)
    with pytest.raises(InvalidInput) as raised:
        runtime.complete_task(people["referrer"], task.id, {"exploitation_types": ["gangs"], "extra": 1})
    assert set(raised.value.errors) == {"exploitation_types.0", "concern", "data"}
    assert "'gangs' is not one of" in raised.value.errors["exploitation_types.0"][0]
    assert snapshot(instance.id) == before


def test_completing_a_completed_task_is_a_conflict_and_changes_nothing(people, referral):
    case, instance = referral
    task = open_task(case.id, "screen")
    data = {"exploitation_types": ["sexual"], "concern": "x"}
    runtime.complete_task(people["referrer"], task.id, data)
    before = snapshot(instance.id)
    with pytest.raises(Conflict, match="already completed"):
        runtime.complete_task(people["referrer"], task.id, data)
    assert snapshot(instance.id) == before


def test_unknown_and_other_area_ids_are_not_found(people, referral):
    case, instance = referral
    with pytest.raises(NotFound):
        runtime.complete_task(people["referrer"], 999_999, {})
    with pytest.raises(NotFound):
        cases.get(people["south_hub"], case.id)
    with pytest.raises(NotFound):
        runtime.start(people["south_hub"], case.id, "screening")
    with pytest.raises(NotFound):
        history.instance_state(people["south_hub"], instance.id)
    with pytest.raises(NotFound):
        tasks.get_task(people["south_hub"], open_task(case.id, "screen").id)
    with pytest.raises(NotFound, match="No pathway definition 'nope'"):
        runtime.start(people["referrer"], case.id, "nope")


def test_a_role_cannot_complete_another_roles_task(people, referral):
    case, _ = referral
    with pytest.raises(NotFound):
        runtime.complete_task(people["hub"], open_task(case.id, "screen").id, {})


def test_missing_episode_message_starts_the_return_interview(people, referral):
    case, _ = referral
    [started] = runtime.deliver_message(people["missing"], case.id, "missing_episode", {"returned_on": "2026-11-01"})
    assert started.process_id == "missing_episode"
    task = open_task(case.id, "return_interview")
    assert task.role == "missing_coordinator"
    assert {t.element_id for t in open_tasks(case.id)} == {"screen", "return_interview"}
    runtime.complete_task(people["missing"], task.id, {"offered_on": "2026-11-02"})
    assert [t.element_id for t in open_tasks(case.id)] == ["screen"]


def test_a_message_nothing_listens_for_is_refused(people, referral):
    case, instance = referral
    before = snapshot(instance.id)
    with pytest.raises(Conflict, match="no process of 'screening' starts with it"):
        runtime.deliver_message(people["referrer"], case.id, "court_order")
    assert snapshot(instance.id) == before


def test_continue_as_new_runs_each_cycle_as_a_fresh_instance_keeping_history(make_actor, deploy):
    deploy("loop")
    people = [make_actor(r) for r in ("referrer", "hub_practitioner", "allocated_worker", "team_manager")]
    case = cases.create(people[0], "north", "Loop Child")
    first = runtime.start(people[0], case.id, "loop")
    for cycle in range(3):
        for step, actor in enumerate(people, start=1):
            task = open_task(case.id, f"step_{step}")
            data = {"note": f"cycle {cycle}"} | ({"another_cycle": cycle < 2} if step == 4 else {})
            runtime.complete_task(actor, task.id, data)
    chain = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)
                               .order_by(ProcessInstance.id)).all()
    assert [i.status for i in chain] == ["completed"] * 3
    assert [i.previous_id for i in chain] == [None, first.id, chain[1].id]
    assert open_tasks(case.id) == []
    record = history.case_history(people[3], case.id)
    assert [s.element_id for s in record.steps] == ["step_1", "step_2", "step_3", "step_4"] * 3
    assert all(s.status == "completed" for s in record.steps)


def test_claim_unclaim_and_reassign(people, make_actor, referral):
    case, _ = referral
    screen_and_decide(people, case, "allocate")
    task = open_task(case.id, "ric_discussion")
    other_worker = make_actor("allocated_worker", username="other-worker")
    tasks.claim(people["worker"], task.id)
    with pytest.raises(Conflict):
        tasks.claim(other_worker, task.id)
    assert [t.id for t in tasks.inbox(people["worker"], mine_only=True).tasks] == [task.id]
    with pytest.raises(Conflict, match="assigned to someone else"):
        runtime.complete_task(other_worker, task.id, {"risk_level": "Low"})
    with pytest.raises(Forbidden):
        tasks.reassign(people["worker"], task.id, "other-worker")
    with pytest.raises(InvalidInput):
        tasks.reassign(people["manager"], task.id, people["hub"].username)
    tasks.reassign(people["manager"], task.id, "other-worker")
    assert tasks.inbox(other_worker, mine_only=True).total == 1
    tasks.unclaim(other_worker, task.id)
    assert tasks.inbox(people["worker"]).total == 1


def test_inbox_shows_my_roles_in_my_areas_overdue_first(people, deploy, make_actor):
    deploy("screening")
    later = cases.create(people["referrer"], "north", "B")
    sooner = cases.create(people["referrer"], "north", "A")
    with time_machine.travel(START, tick=False):
        for case in (later, sooner):
            runtime.start(people["referrer"], case.id, "screening")
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        runtime.complete_task(people["referrer"], open_task(later.id, "screen").id,
                              {"exploitation_types": ["missing"], "concern": "x"})
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        runtime.complete_task(people["referrer"], open_task(sooner.id, "screen").id,
                              {"exploitation_types": ["missing"], "concern": "y"})
    inbox = tasks.inbox(people["hub"])
    assert [t.case_id for t in inbox.tasks] == [sooner.id, later.id]
    assert tasks.inbox(people["south_hub"]).total == 0
    assert tasks.inbox(people["worker"]).total == 0
    with time_machine.travel(START + timedelta(days=3), tick=False):
        assert tasks.overdue_count(people["hub"]) == 2


def test_cancel_closes_open_tasks_and_timers(people, referral):
    case, instance = referral
    with pytest.raises(Forbidden):
        runtime.cancel(people["referrer"], instance.id, "duplicate referral")
    runtime.cancel(people["manager"], instance.id, "duplicate referral")
    assert open_tasks(case.id) == []
    with pytest.raises(Conflict):
        runtime.cancel(people["manager"], instance.id, "again")


def test_every_read_and_change_is_audited_without_form_contents(people, referral):
    case, instance = referral
    screen_and_decide(people, case, "allocate")
    history.instance_state(people["referrer"], instance.id)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.not_in(SET_UP_ACTIONS)).order_by(AuditEvent.id))]
    assert actions == ["definition.deploy", "case.create", "instance.start", "task.complete", "task.complete",
                       "instance.view"]
    details = " ".join(e.detail or "" for e in db.session.scalars(select(AuditEvent)))
    assert "older youths" not in details and "Test Child" not in details


def test_no_log_record_carries_form_answers_even_at_debug_level(people, referral, caplog):
    case, _ = referral
    caplog.set_level(logging.DEBUG)
    runtime.complete_task(people["referrer"], open_task(case.id, "screen").id,
                          {"exploitation_types": ["criminal"], "concern": "Distinctive answer 7431"})
    assert open_task(case.id, "hub_decision")
    for record in caplog.records:
        assert "7431" not in record.getMessage() and "7431" not in str(record.__dict__), record.name
