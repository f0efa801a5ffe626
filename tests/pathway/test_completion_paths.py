"""Every way of completing a step drops its drafts and keeps its reported answers as facts: the task page and the
API (both through runtime.complete_task) and the MACE 1 meeting page's outcome (meetings.record_outcome)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from processes.engine import runtime
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.identity import users as identity
from processes.mace import drafts, meetings
from processes.mace.contract import OUTCOME_KIND, OUTCOME_STEP, SUMMARY_KINDS
from processes.mace.demo import ANSWERS
from processes.mace.models import Booking, CaseFact, Meeting, TaskDraft
from tests.support.pathway import (
    BEFORE_MEETING,
    FIRST_MEETING,
    MONDAY,
    TO_MACE1,
    Child,
    child_on_pathway,
    deploy_pathway,
    walk,
)

OUTCOME = {**ANSWERS[OUTCOME_STEP], OUTCOME_STEP: "close", "challenges": "Missed visits",
           "additions_to_plan": "Weekly call"}


@pytest.fixture
def at_the_meeting(people):
    """A child at north's first MACE 1 meeting, which has just started: the outcome step is open for the chair."""
    deploy_pathway()
    with child_on_pathway(people, MONDAY) as child:
        walk(child, TO_MACE1 + BEFORE_MEETING)
        child.travel(FIRST_MEETING + timedelta(minutes=1))
        yield child


def by_the_task_page(child: Child, task: HumanTask, app) -> None:
    runtime.complete_task(child.people["mace_chair"], task.id, OUTCOME)  # what the task page calls


def by_the_api(child: Child, task: HumanTask, app) -> None:
    token = identity.create_token(child.people["mace_chair"].username)
    response = app.test_client().post(f"/api/v1/tasks/{task.id}/complete", json={"data": OUTCOME},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()


def at_the_meeting_page(child: Child, task: HumanTask, app) -> None:
    meeting = db.session.scalar(select(Meeting).where(Meeting.area_code == "north", Meeting.starts_at == FIRST_MEETING))
    booking = db.session.scalar(select(Booking).where(Booking.case_id == child.case.id,
                                                      Booking.meeting_at == FIRST_MEETING))
    done = meetings.record_outcome(child.people["business_support"], meeting.id, booking.id, OUTCOME)
    assert (done.id, done.completed_by_id) == (task.id, child.people["business_support"].id)


@pytest.mark.parametrize("complete", [by_the_task_page, by_the_api, at_the_meeting_page], ids=lambda f: f.__name__)
def test_completing_the_outcome_drops_the_chairs_draft_and_records_its_facts(
        app, at_the_meeting: Child, complete: Callable[[Child, HumanTask, object], None]):
    child, chair = at_the_meeting, at_the_meeting.people["mace_chair"]
    task = child.step(OUTCOME_STEP)
    drafts.save(chair, task.id, {"measures_of_success_agreed": "Half done"})
    assert drafts.get(chair, task.id) is not None

    complete(child, task, app)

    db.session.expire_all()
    assert db.session.scalars(select(TaskDraft).where(TaskDraft.human_task_id == task.id)).all() == [], \
        "no half-finished copy of the child's outcome is kept"
    facts = {(kind, value) for kind, value in db.session.execute(
        select(CaseFact.kind, CaseFact.value).where(CaseFact.case_id == child.case.id,
                                                    CaseFact.recorded_at >= FIRST_MEETING))}
    assert facts == {(OUTCOME_KIND, "close"), ("risk_level", "High"), ("plan_delivery", "on_track"),
                     ("escalation_agreed", "False"), ("measures_of_success", "School attendance"),
                     ("challenges", "Missed visits"), ("plan_additions", "Weekly call")}
    assert {kind for kind, _ in facts} == set(SUMMARY_KINDS), "the outcome summary has each of its facts"
