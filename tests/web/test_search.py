"""Finding a child through the web app: names with a typo or swapped, date of birth and case number, only the
user's areas, never in the address, audited for each child shown; and "My cases" for workers and managers."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.web.auth import limiter
from processes.engine import tasks
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.identity.models import User
from processes.mace import cases, referrals, search
from tests.support.factories import person
from tests.support.tasks import open_task
from tests.support.web import csrf_token, errors_listed, signed_in_client

SCREENING = {"exploitation_types": ["online"], "concern": "Messages from an adult"}


@pytest.fixture
def people(make_people):
    return make_people(referrer=person("referrer", areas=("north", "south"), username="rowan"),
                       hub=person("hub_practitioner", username="hana"),
                       manager=person("team_manager", username="mika"),
                       worker=person("allocated_worker", username="wren"))


@pytest.fixture
def children(people):
    """Two children of the north and one of the south whose name is nearly the first's."""
    made = {name: cases.create(people["referrer"], area, name, born) for name, area, born in (
        ("Casey Fictional", "north", date(2012, 3, 27)), ("Robin Example", "north", date(2011, 6, 1)),
        ("Casey Fictionall", "south", date(2012, 3, 27)))}
    db.session.commit()
    return made


@pytest.fixture
def client(app, people):
    limiter.reset()
    return signed_in_client(app, "hana")


def found(client, **fields) -> list[int]:
    page = client.get("/search")
    response = client.post("/search", data={"csrf_token": csrf_token(page), **fields})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [int(n) for n in re.findall(r'<li data-case-id="(\d+)"', response.get_data(as_text=True))]


def shown_audited(username: str) -> set[int]:
    return set(db.session.scalars(select(AuditEvent.case_id).join(User, User.id == AuditEvent.user_id).where(
        AuditEvent.action == "case.search", User.username == username)))


@pytest.mark.parametrize("typed", ["Casy Fictional", "Fictional Casey", "casey ficitonal", "Fictional"])
def test_a_name_typed_with_a_typo_or_swapped_finds_the_child_but_never_another_areas(children, client, typed):
    assert found(client, child=typed) == [children["Casey Fictional"].id]


def test_date_of_birth_and_case_number_find_the_child_of_the_users_areas_only(children, client):
    casey = children["Casey Fictional"].id
    assert found(client, **{"date_of_birth-day": "27", "date_of_birth-month": "3", "date_of_birth-year": "2012"}) \
        == [casey]
    assert found(client, child=str(children["Robin Example"].id)) == [children["Robin Example"].id]
    assert found(client, child=str(children["Casey Fictionall"].id)) == [], "a south case number shows nothing"
    assert found(client, child="Casey", **{"date_of_birth-day": "1", "date_of_birth-month": "6",
                                           "date_of_birth-year": "2011"}) == []


def test_each_child_shown_is_audited_and_the_name_never_reaches_the_address(children, client):
    page = client.get("/tasks")
    assert 'method="post" action="/search" role="search"' in page.get_data(as_text=True), "the header's box posts"
    assert found(client, child="Casey Fictional") == [children["Casey Fictional"].id]
    assert shown_audited("hana") == {children["Casey Fictional"].id}
    assert not db.session.scalar(select(AuditEvent.id).where(AuditEvent.detail.contains("Casey")))


def test_an_empty_search_or_a_wrong_date_names_its_field(children, client):
    token = csrf_token(client.get("/search"))
    empty = client.post("/search", data={"csrf_token": token})
    assert empty.status_code == 400
    assert errors_listed(empty) == {"child": "Enter a name, a case number or a date of birth"}
    wrong = client.post("/search", data={"csrf_token": token, "date_of_birth-day": "31", "date_of_birth-month": "2",
                                         "date_of_birth-year": "2012"})
    assert errors_listed(wrong) == {"date_of_birth-day": "Date of birth must be a real date"}
    assert client.post("/search", data={"child": "Casey"}).status_code == 400, "without its CSRF token"


def test_the_service_answers_the_same_contract_whatever_the_database(children, people):
    [best] = search.find(people["hub"], name="Fictional Casey")
    assert (best.case_id, best.child_name, best.area_code, best.score) == \
        (children["Casey Fictional"].id, "Casey Fictional", "north", 1.0)
    assert [f.case_id for f in search.find(people["referrer"], name="Casey Fictional")] == \
        [children["Casey Fictional"].id, children["Casey Fictionall"].id], "both areas, the exact name first"


@pytest.fixture
def referred(app, deploy, people):
    deploy("screening", key=app.config["PATHWAY_KEY"])
    made = {name: referrals.start(people["referrer"], app.config["PATHWAY_KEY"], SCREENING, area=area,
                                  child_name=name).case
            for name, area in (("Robin Example", "north"), ("Sky Sample", "north"), ("Ash Southern", "south"))}
    tasks.claim(people["hub"], open_task(made["Robin Example"].id, "hub_decision").id)
    db.session.commit()
    return made


@pytest.mark.parametrize(("username", "expected"), [
    ("hana", ["Robin Example"]),  # the hub practitioner's claimed step
    ("mika", ["Robin Example", "Sky Sample"]),  # the team manager: every north case with a step open
    ("wren", []),  # an allocated worker with no step yet
])
def test_my_cases_holds_a_workers_own_and_a_managers_areas_open_cases(app, referred, username, expected):
    limiter.reset()  # one sign-in a test: Flask-Login keeps the user it loaded in the app context
    html = signed_in_client(app, username).get("/my-cases").get_data(as_text=True)
    listed = [int(n) for n in re.findall(r'<li data-case-id="(\d+)"', html)]
    assert sorted(listed) == sorted(referred[name].id for name in expected)
    assert "Ash Southern" not in html
    audited = set(db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "case.list_mine")))
    assert audited == (set(listed) or {None})
