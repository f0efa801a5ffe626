"""Plan actions: kept as rows when the plan is agreed and when MACE 1 adds to it, chased to their owners and then
to the chairs on the pathway's own timescales, and no longer chased once an owner marks them done."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.errors import Forbidden, NotFound
from processes.engine.models import AuditEvent
from processes.identity import users as identity
from processes.mace import casefile, plan_actions
from processes.mace.contract import ACTION_ESCALATION, ACTION_REMINDER
from processes.mace.demo import ANSWERS
from processes.mace.models import Notification, PlanAction
from tests.support.factories import person
from tests.support.pathway import BEFORE_MEETING, MONDAY, end_of, walk
from tests.support.tasks import swept


@pytest.fixture
def people(make_people):
    # Everyone of every role in the north, and a core member and a chair of the south alone, who hear nothing.
    return make_people(every_role=("north",), south_member=person("core_member", areas=("south",)),
                       south_chair=person("mace_chair", areas=("south",)))


def actions(case_id: int) -> list[PlanAction]:
    db.session.expire_all()
    return list(db.session.scalars(select(PlanAction).where(PlanAction.case_id == case_id).order_by(PlanAction.id)))


def told(kind: str) -> set[int]:
    return set(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind,
                                                                      Notification.plan_action_id.is_not(None))))


def sweep_actions(child, when) -> list[str]:
    """Move the clock on and run the plan actions' alerts the sweep hands on."""
    child.travel(when)
    return [kind for action_id in swept()["action_alerts"] for kind in plan_actions.raise_due(action_id)]


def test_the_plans_actions_become_rows_with_their_agency_due_date_and_alert_times(child, pathway_bundle):
    [action] = actions(child.case.id)
    [agreed] = ANSWERS["ric_plan"]["actions"]  # read at MONDAY's date would differ: the clock is held there
    due_on = date.fromisoformat(agreed["due_date"])
    assert (action.source_step, action.agency, action.text, action.status) == \
        ("ric_plan", agreed["agency"], agreed["action"], "open")
    assert (action.due_on, aware(action.due_at)) == (due_on, end_of(due_on))
    scales = pathway_bundle.scales
    assert aware(action.remind_at) == scales.before(ACTION_REMINDER, end_of(due_on))
    assert aware(action.escalate_at) == scales.after(ACTION_ESCALATION, end_of(due_on))
    assert aware(action.next_alert_at) == aware(action.remind_at), "the reminder comes first"


def test_an_overdue_action_reaches_its_owners_and_then_the_chairs(child, people):
    [action] = actions(child.case.id)
    remind_at, due_at, escalate_at = (aware(t) for t in (action.remind_at, action.due_at, action.escalate_at))
    owners = {people["core_member"].id, people["allocated_worker"].id}
    assert sweep_actions(child, remind_at - timedelta(minutes=1)) == []
    assert sweep_actions(child, remind_at + timedelta(minutes=1)) == ["reminder"]
    assert told("reminder") == owners
    assert sweep_actions(child, due_at + timedelta(minutes=1)) == ["overdue"]
    assert told("overdue") == owners, "overdue goes to the owners, not yet to the chairs"
    assert sweep_actions(child, escalate_at - timedelta(minutes=1)) == []
    assert sweep_actions(child, escalate_at + timedelta(minutes=1)) == ["escalation"]
    assert told("escalation") == {people["mace_chair"].id}, "the chairs of the child's area only"
    assert sweep_actions(child, escalate_at + timedelta(days=30)) == [], "each alert is raised once"
    assert db.session.scalar(select(PlanAction.next_alert_at).where(PlanAction.id == action.id)) is None
    actions_audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == child.case.id,
                                                                         AuditEvent.action.like("plan_action.%"))
                                     .order_by(AuditEvent.id))
    assert list(actions_audited) == ["plan_action.reminder", "plan_action.overdue", "plan_action.escalation"]


def test_an_agencys_action_goes_to_that_agencys_people_once_the_area_has_some(child, people):
    [action] = actions(child.case.id)
    identity.set_team_and_agency(people["core_member"].username, agency=action.agency)
    assert sweep_actions(child, aware(action.remind_at) + timedelta(minutes=1)) == ["reminder"]
    assert told("reminder") == {people["core_member"].id}, "the other owners of the area are not the agency's"
    assert plan_actions.worklist(people["allocated_worker"]) == []
    assert [a.id for a in plan_actions.worklist(people["core_member"])] == [action.id]


def test_an_action_marked_done_by_an_owner_is_chased_no_more(child, people):
    [action] = actions(child.case.id)
    with pytest.raises(Forbidden):
        plan_actions.mark_done(people["hub_practitioner"], action.id)
    with pytest.raises(NotFound):
        plan_actions.mark_done(people["south_member"], action.id)
    assert actions(child.case.id)[0].status == "open", "a refusal changes nothing"
    plan_actions.mark_done(people["core_member"], action.id)
    [done] = actions(child.case.id)
    assert (done.status, done.done_by_id, done.next_alert_at) == ("done", people["core_member"].id, None)
    assert sweep_actions(child, aware(done.escalate_at) + timedelta(days=1)) == []
    assert told("reminder") | told("overdue") | told("escalation") == set()
    assert plan_actions.worklist(people["core_member"]) == []
    assert db.session.scalar(select(AuditEvent.user_id).where(AuditEvent.action == "plan_action.done")) == \
        people["core_member"].id


def test_the_owners_work_list_holds_their_areas_open_actions(child, people):
    [action] = actions(child.case.id)
    assert [a.id for a in plan_actions.worklist(people["allocated_worker"])] == [action.id]
    assert plan_actions.worklist(people["south_member"]) == [], "another area's actions are not listed"
    shown = db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "plan_action.list",
                                                                AuditEvent.user_id == people["allocated_worker"].id))
    assert list(shown) == [child.case.id], "each child listed is audited"


def test_actions_added_at_mace1_become_rows_too(child, pathway_bundle):
    walk(child, BEFORE_MEETING)
    first = pathway_bundle.booked(MONDAY)
    child.travel(first.starts_at + timedelta(minutes=1))
    due = (first.starts_at + timedelta(days=14)).date().isoformat()
    added = [{"action": "Return home interview after each episode", "agency": "missing_coordinator",
              "due_date": due}]
    child.complete("mace1_outcome", actions_added=added)
    [_, new] = actions(child.case.id)
    assert (new.source_step, new.agency, new.due_on.isoformat(), new.status) == \
        ("mace1_outcome", "missing_coordinator", due, "open")


def test_the_review_page_shows_where_each_action_stands(child, pathway_bundle, people):
    [action] = actions(child.case.id)
    plan_actions.mark_done(people["core_member"], action.id)
    walk(child, BEFORE_MEETING)
    first = pathway_bundle.booked(MONDAY)
    child.travel(first.starts_at + timedelta(minutes=1))
    child.complete("mace1_outcome")
    walk(child, ["disseminate", "update_parents"])
    review_meeting = pathway_bundle.next_review(first)
    child.travel(pathway_bundle.scales.before("review_update", review_meeting.plan_deadline) + timedelta(hours=9))
    review = child.step("review_plan")
    shown = casefile.task_context(people["allocated_worker"], review).plan_actions
    assert [(a.id, a.status) for a in shown] == [(action.id, "done")]
