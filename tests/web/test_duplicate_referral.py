"""The duplicate check at referral, on the web and the API: a second referral of a child of the area is stopped
and shows the match with every answer kept; the referrer sends it to that case or confirms a new child (audited);
another area's child is never offered."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.web.auth import limiter
from processes.engine.db import db
from processes.engine.models import AuditEvent, ProcessInstance
from processes.engine.runtime import cancel
from processes.identity import users as identity
from processes.mace import referrals
from processes.mace.models import Case
from tests.support.factories import person
from tests.support.web import csrf_token, signed_in_client

SCREENING = {"exploitation_types": ["online"], "concern": "Messages from an adult"}
CONCERN = "Seen again near the station late at night"


@pytest.fixture
def people(make_people):
    return make_people(referrer=person("referrer", username="rowan"),
                       south_referrer=person("referrer", areas=("south",), username="sol"),
                       manager=person("team_manager", username="mika"))


@pytest.fixture
def first(app, deploy, people):
    """Casey's first referral, whose pathway is running."""
    deploy("screening", key=app.config["PATHWAY_KEY"])
    return referrals.start(people["referrer"], app.config["PATHWAY_KEY"], SCREENING, area="north",
                           child_name="Casey Fictional", date_of_birth=date(2012, 3, 27))


@pytest.fixture
def client(app, people):
    limiter.reset()
    return signed_in_client(app, "rowan")


def refer(client, name="Fictional Casy", **extra):
    token = csrf_token(client.get("/referrals/new"))
    return client.post("/referrals/new", data={
        "csrf_token": token, "case.child_name": name, "case.date_of_birth-day": "27",
        "case.date_of_birth-month": "3", "case.date_of_birth-year": "2012", "case.area": "north",
        "screening.exploitation_types": "online", "screening.concern": CONCERN, "action": "send", **extra})


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_second_referral_of_the_same_child_is_stopped_and_shows_the_match_keeping_the_answers(first, client):
    stopped = refer(client)
    html = stopped.get_data(as_text=True)
    assert stopped.status_code == 409
    assert "Is this a child who already has a case?" in html and f'value="{first.case.id}"' in html
    assert "Its pathway is running" in html and f'href="/cases/{first.case.id}"' in html
    assert CONCERN in html and 'value="Fictional Casy"' in html, "what was typed is still on the form"
    assert (count(Case), count(ProcessInstance)) == (1, 1)
    shown = db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "referral.duplicates_shown"))
    assert list(shown) == [first.case.id]


def test_choosing_the_match_whose_pathway_runs_starts_no_second_one_and_links_to_it(first, client):
    chosen = refer(client, duplicate=str(first.case.id))
    html = chosen.get_data(as_text=True)
    assert chosen.status_code == 409 and "pathway is still running" in html
    assert f'href="/cases/{first.case.id}">Go to case {first.case.id}' in html and CONCERN in html
    assert (count(Case), count(ProcessInstance)) == (1, 1)


def test_choosing_the_match_once_its_pathway_ended_refers_that_case(first, client, people):
    cancel(people["manager"], first.instance.id, "Closed too early")
    db.session.commit()
    sent = refer(client, duplicate=str(first.case.id))
    assert sent.status_code == 302 and sent.headers["Location"] == f"/cases/{first.case.id}"
    assert (count(Case), count(ProcessInstance)) == (1, 2)


def test_confirming_a_new_child_makes_a_new_case_and_is_audited(first, client):
    sent = refer(client, duplicate="new")
    assert sent.status_code == 302 and count(Case) == 2
    new_case = db.session.scalar(select(Case.id).where(Case.id != first.case.id))
    confirmed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.new_child_confirmed")).one()
    assert confirmed.case_id == new_case and confirmed.detail == f"possible matches: case {first.case.id}"


def test_another_areas_child_is_never_offered(app, first, people):
    limiter.reset()
    south = signed_in_client(app, "sol")
    token = csrf_token(south.get("/referrals/new"))
    sent = south.post("/referrals/new", data={
        "csrf_token": token, "case.child_name": "Casey Fictional", "case.date_of_birth-day": "27",
        "case.date_of_birth-month": "3", "case.date_of_birth-year": "2012", "case.area": "south",
        "screening.exploitation_types": "online", "screening.concern": CONCERN, "action": "send"})
    assert sent.status_code == 302 and count(Case) == 2


def test_the_api_answers_409_with_the_matching_case_ids_unless_a_new_child_is_confirmed(app, first, people):
    bearer = {"Authorization": f"Bearer {identity.create_token('rowan')}"}
    body = {"area": "north", "child_name": "Casey Fictionall", "date_of_birth": "2012-03-27", "screening": SCREENING}
    client = app.test_client()
    stopped = client.post("/api/v1/referrals", json=body, headers=bearer)
    assert stopped.status_code == 409
    assert stopped.get_json()["code"] == "possible_duplicate" and stopped.get_json()["matches"] == [first.case.id]
    assert "Casey" not in stopped.get_json()["message"]
    assert count(Case) == 1
    made = client.post("/api/v1/referrals", json=body | {"confirm_new_child": True}, headers=bearer)
    assert made.status_code == 201 and made.get_json()["case"]["id"] != first.case.id
    assert count(Case) == 2
