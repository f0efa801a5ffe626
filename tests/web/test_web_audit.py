"""The audit log page and CSV for information governance officers, through the real app: who may open it, what
each filter finds, that another area's children stay out, that a bad filter names its field, and that the
search and the download are themselves audited."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.web.auth import limiter
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.mace import casefile, referrals
from tests.support.factories import person
from tests.support.web import errors_listed, signed_in_client

SCREENING = {"exploitation_types": ["criminal"], "concern": "Seen with older males near the station"}


@pytest.fixture
def people(make_people):
    return make_people(referrer=person("referrer", areas=("north", "south"), username="rowan"),
                       manager=person("team_manager", username="mika"),
                       auditor=person("auditor", username="ivy"), admin=person("admin", username="ada"))


@pytest.fixture
def children(deploy, people):
    deploy("screening", key="mace")
    made = {}
    for name, area in (("Robin Example", "north"), ("Sky Sample", "north"), ("Ash Southern", "south")):
        made[name] = referrals.start(people["referrer"], "mace", SCREENING, area=area, child_name=name).case
    return made


@pytest.fixture
def client_for(app):
    limiter.reset()
    return lambda username: signed_in_client(app, username)


def page(response) -> str:
    return response.get_data(as_text=True)


def table(response) -> str:
    """The results table alone (the action filter's choices name every action)."""
    return page(response).partition('id="audit"')[2]


@pytest.mark.parametrize("username", ["ada", "mika"])
def test_no_one_else_has_the_audit_log_nor_its_link(children, client_for, username):
    client = client_for(username)  # one sign-in a test: Flask-Login keeps the user it loaded in the app context
    assert client.get("/audit").status_code == 403
    assert client.get("/audit.csv").status_code == 403
    assert 'href="/audit"' not in page(client.get("/tasks"))


def test_an_information_governance_officer_has_the_audit_log_and_its_link(children, client_for):
    client = client_for("ivy")
    assert 'href="/audit"' in page(client.get("/tasks"))
    assert client.get("/audit").status_code == 200


def test_the_search_finds_by_child_user_and_action_and_never_shows_another_areas_child(children, people,
                                                                                        client_for):
    robin = children["Robin Example"]
    casefile.case_file(people["manager"], robin.id)
    client = client_for("ivy")
    everything = page(client.get("/audit"))
    assert "Robin Example" in everything and "Sky Sample" in everything
    assert "Ash Southern" not in everything, "the south child is outside the officer's area"
    by_child = page(client.get("/audit", query_string={"child": "robin"}))
    assert "Robin Example" in by_child and "Sky Sample" not in by_child
    by_user = table(client.get("/audit", query_string={"user": "mika", "action": "case.view"}))
    assert "Case page viewed" in by_user and "Robin Example" in by_user and "Case created" not in by_user
    assert by_user.count("<tr") == 2, "one header row, one row found"
    by_number = page(client.get("/audit", query_string={"child": str(children["Sky Sample"].id)}))
    assert "Sky Sample" in by_number and "Robin Example" not in by_number
    future = page(client.get("/audit", query_string={"since": "2999-01-01"}))
    assert "No audit rows match" in future


def test_a_bad_filter_names_its_field_and_shows_nothing(children, client_for):
    client = client_for("ivy")
    response = client.get("/audit", query_string={"since": "31/02/2027"})
    assert response.status_code == 400
    assert errors_listed(response)["since"].startswith("From must be a real date")
    assert "Robin Example" not in page(response)
    control = client.get("/audit", query_string={"user": "x\x00y"})  # refused before any filter is read
    assert control.status_code == 400 and "user" in page(control) and "Robin Example" not in page(control)
    assert client.get("/audit.csv", query_string={"until": "nope"}).status_code == 400


def test_the_csv_holds_every_match_and_its_download_is_audited_per_child(children, people, client_for):
    client = client_for("ivy")
    response = client.get("/audit.csv", query_string={"action": "case.create"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["child"] for r in rows} == {"Robin Example", "Sky Sample"}
    assert {r["user"] for r in rows} == {"rowan"}
    exported = set(db.session.scalars(select(AuditEvent.case_id).where(
        AuditEvent.action == "audit.export", AuditEvent.user_id == people["auditor"].id)))
    assert exported == {children["Robin Example"].id, children["Sky Sample"].id}
    client.get("/audit", query_string={"child": "Sky"})
    searched = set(db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "audit.search")))
    assert searched == {children["Sky Sample"].id}, "each child a search shows is audited"
