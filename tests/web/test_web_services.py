"""Service functions behind the web pages: worklists, referrals, drafts, sign-in, diagrams and the case file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from processes.engine import runtime, serialization, tasks
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from processes.engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.identity import authentication
from processes.identity.users import get_user
from processes.mace import casefile, diagrams, drafts, referrals, worklists
from processes.mace.models import Case, TaskDraft
from tests.support.factories import SET_UP_ACTIONS, person
from tests.support.tasks import count, open_task

SCREENING = {"exploitation_types": ["criminal"], "concern": "Seen with older males near the station"}


@pytest.fixture
def pathway(deploy):
    return deploy("screening", key="mace")


@pytest.fixture
def people(make_people):
    return make_people(referrer=person("referrer", username="rowan"), hub=person("hub_practitioner", username="harper"),
                       hub2=person("hub_practitioner", username="hollis"),
                       south=person("hub_practitioner", areas=("south",), username="sasha"),
                       manager=person("team_manager", username="mika"))


# Children unlike each other by name, so that no referral of them is stopped as a possible duplicate.
CHILDREN = ("Alex Ashdown", "Blake Brimley", "Casey Corrin", "Drew Dunmore")


def refer(people, child="Robin Example", area="north"):
    return referrals.start(people["referrer"], "mace", SCREENING, area=area, child_name=child)


def audit_actions(case_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id)
                                   .order_by(AuditEvent.id)))


# Referrals


def test_a_referral_creates_the_case_starts_the_pathway_and_records_the_screening(pathway, people):
    made = refer(people)
    assert made.case.child_name == "Robin Example"
    assert made.screening.element_id == "screen" and made.screening.status == "completed"
    hub_step = open_task(made.case.id, "hub_decision")
    assert hub_step.role == "hub_practitioner"
    assert audit_actions(made.case.id)[:3] == ["case.create", "instance.start", "task.complete"]


def test_an_invalid_referral_creates_nothing_and_names_every_field(pathway, people):
    with pytest.raises(InvalidInput) as raised:
        referrals.start(people["referrer"], "mace", {"exploitation_types": []}, area="south", child_name=" ")
    assert set(raised.value.errors) == {"case.child_name", "case.area", "screening.exploitation_types",
                                        "screening.concern"}
    assert (count(Case), count(ProcessInstance), count(HumanTask)) == (0, 0, 0)


def test_a_referral_that_fails_after_the_case_is_made_leaves_nothing(pathway, people, monkeypatch):
    def fail(*_args, **_kwargs):
        raise RuntimeError("the step could not be completed")

    monkeypatch.setattr(runtime, "complete_task", fail)
    with pytest.raises(RuntimeError):
        refer(people)
    assert (count(Case), count(ProcessInstance), count(HumanTask)) == (0, 0, 0), "one transaction: all or nothing"


def test_a_referral_for_a_known_child_reuses_their_case_but_never_another_areas(pathway, people, make_actor):
    first = refer(people)
    with pytest.raises(Conflict, match="pathway is still running"):
        referrals.start(people["referrer"], "mace", SCREENING, case_id=first.case.id)
    runtime.cancel(people["manager"], first.instance.id, "Referred again with more detail")
    again = referrals.start(people["referrer"], "mace", SCREENING, case_id=first.case.id)
    assert again.case.id == first.case.id and again.instance.id != first.instance.id
    south_case = refer({"referrer": make_actor("referrer", areas=("south",))}, area="south")
    with pytest.raises(InvalidInput) as raised:
        referrals.start(people["referrer"], "mace", SCREENING, case_id=south_case.case.id)
    assert "case.case_id" in raised.value.errors


def test_only_referrers_raise_referrals(pathway, people):
    with pytest.raises(Forbidden):
        referrals.start(people["hub"], "mace", SCREENING, area="north", child_name="Robin Example")


# Worklists


def test_worklists_split_mine_available_and_team_with_counts(pathway, people):
    first, second = refer(people, "Child One"), refer(people, "Child Two")
    refer(people, "Child Three")
    step = open_task(first.case.id, "hub_decision")
    tasks.claim(people["hub"], step.id)

    mine = worklists.worklist(people["hub"], "mine")
    assert [item.task.id for item in mine.items] == [step.id]
    assert mine.items[0].child_name == "Child One" and mine.items[0].assignee_name == "Harper"
    available = worklists.worklist(people["hub"], "available")
    assert step.id not in {item.task.id for item in available.items}
    assert available.counts == {"mine": (1, 0), "available": (2, 0)}
    assert worklists.worklist(people["hub2"], "available").total == 2, "a claimed step leaves the queue"
    assert worklists.worklist(people["south"], "available").total == 0, "another area's steps are never listed"
    team = worklists.worklist(people["manager"], "team")
    assert team.total == 3 and set(team.counts) == {"mine", "available", "team"}
    with pytest.raises(Forbidden):
        worklists.worklist(people["hub"], "team")
    assert "case.list" in audit_actions(second.case.id), "seeing a child's name in a list is recorded"


def test_a_list_audits_every_child_shown_with_one_statement(pathway, people):
    shown = {refer(people, child).case.id for child in CHILDREN[:3]}
    sent: list[str] = []

    def watch(_conn, _cursor, statement, *_args):
        if "audit_events" in statement:
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        worklists.worklist(people["manager"], "team")
        tasks.inbox(people["hub"])
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    assert len(sent) == 2, "one INSERT per list, however many children it shows"
    for detail in (None, "tasks API"):
        rows = db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "case.list",
                                                                   AuditEvent.detail.is_(detail) if detail is None
                                                                   else AuditEvent.detail == detail))
        assert set(rows) == shown


def test_a_refused_request_is_audited_even_when_nothing_is_committed(pathway, people, make_actor):
    north_case = refer(people).case.id
    south_referrer = make_actor("referrer", areas=("south",), username="sol")
    with pytest.raises(InvalidInput):
        referrals.check(south_referrer, "mace", SCREENING, case_id=north_case)
    db.session.close()  # the request ends without a commit: the refusal's row is written all the same
    assert db.session.execute(select(AuditEvent.action, AuditEvent.case_id).where(
        AuditEvent.user_id == south_referrer.id)).all() == [("case.denied", north_case)]


def test_worklists_put_overdue_first_and_filter_by_stage_area_and_due(pathway, people):
    cases = [refer(people, child).case for child in CHILDREN]
    late = open_task(cases[2].id, "hub_decision")
    db.session.execute(update(HumanTask).where(HumanTask.id == late.id).values(due_at=now() - timedelta(days=2)))
    none_due = open_task(cases[3].id, "hub_decision")
    db.session.execute(update(HumanTask).where(HumanTask.id == none_due.id).values(due_at=None))
    db.session.commit()

    listed = worklists.worklist(people["hub"], "available")
    assert listed.items[0].task.id == late.id, "overdue on top"
    assert listed.items[-1].task.id == none_due.id, "no due date last"
    assert listed.counts["available"] == (4, 1)
    overdue = worklists.worklist(people["hub"], "available", worklists.WorkFilter(due="overdue"))
    assert [i.task.id for i in overdue.items] == [late.id]
    assert worklists.worklist(people["hub"], "available", worklists.WorkFilter(due="none")).total == 1
    assert worklists.worklist(people["hub"], "available", worklists.WorkFilter(due="due_soon")).total == 2
    assert worklists.worklist(people["hub"], "available", worklists.WorkFilter(stage="screening")).total == 4
    assert worklists.worklist(people["hub"], "available", worklists.WorkFilter(stage="missing_episode")).total == 0
    assert worklists.worklist(people["hub"], "available", worklists.WorkFilter(area="south")).total == 0, \
        "an area the user does not work in filters to nothing, not to everything"
    page_two = worklists.worklist(people["hub"], "available", limit=3, offset=3)
    assert [i.task.id for i in page_two.items] == [none_due.id] and page_two.total == 4


def test_the_worklist_reads_task_rows_only(pathway, people, monkeypatch):
    refer(people)
    monkeypatch.setattr(serialization, "load", lambda *a, **k: pytest.fail("a worklist loaded workflow state"))
    assert worklists.worklist(people["hub"], "available").total == 1


def test_managers_can_reassign_only_to_people_with_the_role_in_the_area(pathway, people):
    step = open_task(refer(people).case.id, "hub_decision")
    assert [u.username for u in worklists.assignees_for(people["manager"], step.id)] == ["harper", "hollis"]
    with pytest.raises(Forbidden):
        worklists.assignees_for(people["hub"], step.id)


# Drafts


def test_a_draft_is_kept_per_user_audited_without_content_and_dropped_on_completion(pathway, people):
    case = refer(people).case
    step = open_task(case.id, "hub_decision")
    drafts.save(people["hub"], step.id, {"reason": "Notes so far"})
    drafts.save(people["hub"], step.id, {"reason": "Notes so far, and more"})
    assert drafts.get(people["hub"], step.id) == {"reason": "Notes so far, and more"}
    assert drafts.get(people["hub2"], step.id) is None, "a draft is its author's alone"
    saved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.draft.save")).all()
    assert len(saved) == 2 and all(e.detail is None for e in saved)
    drafts.save(people["hub2"], step.id, {"reason": "Another view"})
    runtime.complete_task(people["hub"], step.id, {"decision": "allocate"})
    assert count(TaskDraft) == 0, "no half-finished copy of a child's details is kept"
    with pytest.raises(NotFound):
        drafts.save(people["south"], step.id, {"reason": "x"})


# Sign-in


def test_sign_in_checks_the_argon2_hash_and_audits_each_attempt(people):
    authentication.set_password("harper", "a long enough password")
    assert get_user("harper").password_hash.startswith("$argon2")
    assert authentication.authenticate("harper", "a long enough password").username == "harper"
    assert authentication.authenticate("harper", "wrong password") is None
    assert authentication.authenticate("nobody", "a long enough password") is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.not_in(SET_UP_ACTIONS))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["user.sign_in", "user.sign_in_failed", "user.sign_in_failed"]
    with pytest.raises(InvalidInput):
        authentication.set_password("harper", "short")
    get_user("harper").is_active = False
    db.session.commit()
    assert authentication.authenticate("harper", "a long enough password") is None, "people who left cannot"


# Diagrams and the case file


def test_the_diagram_is_the_file_holding_the_current_steps_process_with_the_main_one_too(deploy, make_actor):
    definition = deploy("staged")
    actor = make_actor("referrer", "ric_senior_practitioner")
    made = referrals.start(actor, "staged", {"concern": "Worried", "persons_of_concern": [{"name": "Adult A"}],
                                             "locations_of_concern": ["The park"]},
                           area="north", child_name="Robin Example")
    assert {pid: (info.file, info.name) for pid, info in diagrams.processes_of(definition).items()} == {
        "staged": ("main.bpmn", "Staged pathway"), "plan_stage": ("plan.bpmn", "RIC meeting and plan")}
    assert diagrams.stage_names()["plan_stage"] == "RIC meeting and plan"

    found = casefile.case_file(actor, made.case.id)
    assert (found.diagram.process_id, found.diagram.file) == ("plan_stage", "plan.bpmn")
    assert found.diagram.states == {"write_plan": "current"}
    assert found.main_diagram.file == "main.bpmn"
    assert found.main_diagram.states == {"screen": "completed", "call_plan": "current"}, \
        "a call activity shows the state of the stage it calls"
    assert [c.value for c in found.concerns["persons_of_concern"]] == [{"name": "Adult A"}]
    assert [c.value for c in found.concerns["locations_of_concern"]] == ["The park"]

    plan_step = open_task(made.case.id, "write_plan")
    db.session.execute(update(HumanTask).where(HumanTask.id == plan_step.id).values(due_at=now() - timedelta(days=4)))
    db.session.commit()
    late = casefile.case_file(actor, made.case.id)
    assert late.diagram.states["write_plan"] == "overdue" and late.diagram.days_overdue["write_plan"] == 4
    assert late.main_diagram.states["call_plan"] == "overdue"

    actions = [{"action": "Visit school", "agency": "education", "due_date": "2027-01-10"}]
    runtime.complete_task(actor, plan_step.id, {"risk_level": "high", "threshold_met": True, "actions": actions})
    done = casefile.case_file(actor, made.case.id)
    assert done.plan.data["actions"] == actions
    assert [a.title for a in done.answers] == ["Screening", "RIC plan"]
    assert "concern" not in done.answers[1].data, "each step shows its own answers, not those it carried"


def test_the_case_file_is_another_areas_404_and_every_read_is_audited(pathway, people):
    case = refer(people).case
    with pytest.raises(NotFound):
        casefile.case_file(people["south"], case.id)
    casefile.case_file(people["hub"], case.id)
    assert audit_actions(case.id).count("case.view") == 1
    found = casefile.case_file(people["hub"], case.id)
    assert found.views >= 1
    assert [a.title for a in found.answers] == ["CE screening tool"]
    assert found.answers[0].data == SCREENING
    assert found.diagram.states == {"screen": "completed", "hub_decision": "current"}
    assert "task.open" in [e.action for e in found.timeline]
