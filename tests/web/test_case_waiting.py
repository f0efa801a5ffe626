"""The case page says what the case waits for (its next timer, its booked MACE 1 meeting) and records a missing
episode as a form that delivers the pathway's message: through Flask's test client, on the real pathway."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from flask import g
from sqlalchemy import func, select

from app.web.auth import limiter
from app.web.display import uk_date, uk_time
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.mace import policy
from processes.mace.contract import MISSING_EPISODE
from tests.support.factories import BOTH_AREAS
from tests.support.pathway import FIRST_MEETING, MONDAY, SHIPPED, TO_MACE1, deploy_pathway, start_child, walk
from tests.support.tasks import open_tasks
from tests.support.web import csrf_token, errors_listed, signed_in_client


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS, usernames=lambda role: role.replace("_", "-"))


@pytest.fixture
def signed_in(app, people):
    limiter.reset()

    def sign_in(role: str):
        for cached in ("_login_user", "csrf_token"):  # kept in the test's app context from the last sign-in
            g.pop(cached, None)
        return signed_in_client(app, people[role].username)

    return sign_in


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as coordinates:
        yield coordinates


@pytest.fixture
def waiting_child(people, clock):
    """A child whose agency updates are in: nothing is open until the MACE 1 meeting starts."""
    deploy_pathway()
    child = start_child(people, clock)
    walk(child, [*TO_MACE1, "share_plan", "circulate_plan", "agency_update"])
    assert child.open_steps() == []
    return child


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_a_case_waiting_for_its_meeting_names_the_timer_and_the_booked_meeting(signed_in, waiting_child):
    meeting = SHIPPED.booked(MONDAY)
    when = f"{uk_date(FIRST_MEETING)} at {uk_time(FIRST_MEETING)}"
    support = signed_in("business_support")
    page = support.get(f"/cases/{waiting_child.case.id}")
    text = _text(page)
    assert "No step is open" not in text
    assert f"Waiting for MACE 1 meeting, on {when}" in text
    assert f"Plan ready by {uk_date(meeting.plan_deadline)}" in text
    assert re.search(r'href="/meetings/\d+">' + re.escape(when), page.get_data(as_text=True)), \
        "those who may see meetings open it from the case"
    worker = signed_in("allocated_worker")
    page = worker.get(f"/cases/{waiting_child.case.id}")
    assert f"Booked MACE 1 meeting {when}" in _text(page)
    assert 'href="/meetings/' not in page.get_data(as_text=True), "no link to a page the worker may not open"


def test_the_diagram_marks_the_waiting_timer(signed_in, waiting_child):
    page = signed_in("allocated_worker").get(f"/cases/{waiting_child.case.id}").get_data(as_text=True)
    diagrams = re.findall(r'<script type="application/json" id="diagram-data-[^"]+">(.*?)</script>', page, re.S)
    states = [json.loads(d)["states"] for d in diagrams]
    assert states[0]["meeting_day"] == "waiting", "the stage's own timer"
    assert states[1]["mace1"] == "waiting", "and the whole pathway's call activity for the stage"
    assert "meeting_day" not in json.loads(diagrams[0])["links"], "a timer is no step to open"


def _episodes(case_id: int) -> list:
    return [t for t in open_tasks(case_id) if t.element_id == "return_interview"]


def _delivered(case_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "message.deliver", AuditEvent.case_id == case_id))


def test_a_missing_episode_is_recorded_from_the_case_page(signed_in, waiting_child):
    case_id = waiting_child.case.id
    worker = signed_in("allocated_worker")
    case_page = worker.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/cases/{case_id}/missing-episode"' in case_page
    form = worker.get(f"/cases/{case_id}/missing-episode")
    assert form.status_code == 200 and "When the child returned" in form.get_data(as_text=True)

    assert worker.post(f"/cases/{case_id}/missing-episode", data={"returned_at": "2027-01-08T22:30:00+00:00"}) \
        .status_code == 400, "no CSRF token, nothing recorded"
    token = csrf_token(form)
    blank = worker.post(f"/cases/{case_id}/missing-episode", data={"csrf_token": token, "returned_at": ""})
    assert blank.status_code == 400 and "returned_at" in errors_listed(blank)
    wrong = worker.post(f"/cases/{case_id}/missing-episode", data={"csrf_token": token, "returned_at": "last night"})
    assert wrong.status_code == 400 and "returned_at" in errors_listed(wrong)
    assert 'value="last night"' in wrong.get_data(as_text=True), "the answer is kept"
    assert _episodes(case_id) == [] and _delivered(case_id) == 0

    sent = worker.post(f"/cases/{case_id}/missing-episode",
                       data={"csrf_token": token, "returned_at": "2027-01-04T08:30:00+00:00"})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/cases/{case_id}"
    [interview] = _episodes(case_id)
    assert interview.due_at is not None
    assert _delivered(case_id) == 1


def test_only_the_roles_the_policy_names_record_a_missing_episode(signed_in, waiting_child):
    case_id = waiting_child.case.id
    senders = set(policy.roles_with(policy.MESSAGE_DELIVER))
    assert senders, MISSING_EPISODE
    for role in ("hub_practitioner", "core_member", *sorted(senders)):
        client = signed_in(role)
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        allowed = role in senders
        assert (f'href="/cases/{case_id}/missing-episode"' in page) == allowed, role
        assert client.get(f"/cases/{case_id}/missing-episode").status_code == (200 if allowed else 403), role
