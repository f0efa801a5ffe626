"""The pathway's policy as users meet it, through the real app: who may open which page and do what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.web.auth import limiter
from processes.engine import actors, permissions, runtime
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.identity import authentication
from processes.mace import cases, policy, referrals
from processes.mace.roles import ROLES
from tests.support.tasks import open_task

APP = Path(__file__).resolve().parents[2] / "app"
PASSWORD = "policy-test-password"
PATHWAY_PERMISSIONS = {policy.OVERSIGHT_VIEW, policy.MEETING_VIEW, policy.MEETING_MANAGE,
                       policy.MEETING_RECORD_OUTCOME, policy.REFERRAL_START, policy.ALERT_OVERDUE,
                       policy.ALERT_ESCALATION, policy.RECORDS_ERASE, policy.RECORDS_EXPORT, policy.AUDIT_VIEW,
                       policy.CASES_OF_AREA, policy.PLAN_ACTION_DONE, policy.CASE_ALLOCATE}


@pytest.fixture
def sign_in(app, make_actor):
    """A test client signed in through the sign-in form as a new user with these roles.

    One a test: the tests' app context outlives each request, and Flask-Login keeps the user it loaded there.
    """
    limiter.reset()

    def signed_in(*roles: str, username: str):
        make_actor(*roles, username=username)
        authentication.set_password(username, PASSWORD)
        client = app.test_client()
        response = client.post("/sign-in", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": _token(client.get("/sign-in"))})
        assert response.status_code == 302
        return client

    return signed_in


def _token(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.fixture
def hub_task(app, deploy, make_actor) -> HumanTask:
    """A referral's hub decision, open and unclaimed, in the north."""
    deploy("screening", key=app.config["PATHWAY_KEY"])
    referrer = make_actor("referrer", username="rowan")
    made = referrals.start(referrer, app.config["PATHWAY_KEY"], {"exploitation_types": ["online"], "concern": "X"},
                           area="north", child_name="Robin Example")
    return open_task(made.case.id, "hub_decision")


def test_the_table_gives_every_role_a_row_and_names_only_known_permissions():
    assert set(policy.GRANTS) == set(ROLES)
    assert actors.known_roles() == tuple(ROLES), "the app factory registered the table, in ROLES order"
    named = set().union(*policy.GRANTS.values())
    assert named <= permissions.ENGINE_PERMISSIONS | PATHWAY_PERMISSIONS, named


def test_an_administrator_can_still_do_what_it_could():
    admin = actors.Actor(1, "ada", frozenset({"admin"}), frozenset({"north"}))
    casework = {permissions.INSTANCE_START, permissions.MESSAGE_DELIVER}
    for permission in (*(permissions.ENGINE_PERMISSIONS - casework), policy.OVERSIGHT_VIEW, policy.MEETING_VIEW,
                       policy.MEETING_MANAGE, policy.MEETING_RECORD_OUTCOME):
        assert admin.may(permission), permission
    for permission in casework:
        assert not admin.may(permission), "an administrator never raised referrals nor reported what happened"


def test_no_role_name_is_written_in_the_web_app_the_engine_or_identity():
    quoted = re.compile("|".join(rf"""['"]{re.escape(code)}['"]""" for code in ROLES))
    processes = APP.parent / "processes"
    places = [*(APP / "templates").rglob("*.html"), *(APP / "web").glob("*.py"), *(APP / "api").glob("*.py"),
              *(processes / "engine").glob("*.py"), *(processes / "identity").glob("*.py")]
    found = [f"{path.relative_to(APP.parent)}: {match.group(0)}" for path in places
             for match in quoted.finditer(path.read_text())]
    assert not found, found


def test_a_practitioner_without_oversight_gets_403_and_no_links_to_it(sign_in):
    client = sign_in("hub_practitioner", username="hana")
    for path in ("/oversight", "/oversight.csv", "/oversight/bottlenecks", "/oversight/trends", "/meetings"):
        assert client.get(path).status_code == 403, path
    nav = client.get("/tasks").get_data(as_text=True)
    assert 'href="/oversight"' not in nav and 'href="/meetings"' not in nav and 'href="/referrals/new"' not in nav


def test_a_manager_sees_the_nav_the_policy_gives_and_cannot_raise_a_referral(app, deploy, sign_in):
    deploy("screening", key=app.config["PATHWAY_KEY"])
    client = sign_in("team_manager", username="tam")
    nav = client.get("/tasks").get_data(as_text=True)
    assert 'href="/oversight"' in nav and 'href="/meetings"' in nav and 'href="/referrals/new"' not in nav
    assert client.get("/referrals/new").status_code == 403


def test_a_referrer_is_offered_and_may_open_the_referral_page(app, deploy, sign_in):
    deploy("screening", key=app.config["PATHWAY_KEY"])
    client = sign_in("referrer", username="remy")
    assert 'href="/referrals/new"' in client.get("/tasks").get_data(as_text=True)
    assert client.get("/referrals/new").status_code == 200


def test_a_practitioner_may_claim_but_not_reassign(sign_in, make_actor, hub_task):
    make_actor("hub_practitioner", username="harper")
    client = sign_in("hub_practitioner", username="hana")
    page = client.get(f"/tasks/{hub_task.id}")
    html = page.get_data(as_text=True)
    assert ">Claim this task</button>" in html and 'id="reassign"' not in html
    refused = client.post(f"/tasks/{hub_task.id}/reassign", data={"username": "harper", "csrf_token": _token(page)})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(HumanTask.assignee_id).where(HumanTask.id == hub_task.id)) is None


def test_a_manager_can_reassign_a_task_of_another_role(sign_in, make_actor, hub_task):
    other = make_actor("hub_practitioner", username="harper")
    client = sign_in("team_manager", username="tam")
    page = client.get(f"/tasks/{hub_task.id}")
    html = page.get_data(as_text=True)
    assert 'id="reassign"' in html and ">Claim this task</button>" not in html, "not the manager's role to claim"
    done = client.post(f"/tasks/{hub_task.id}/reassign", data={"username": "harper", "csrf_token": _token(page)})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(HumanTask.assignee_id).where(HumanTask.id == hub_task.id)) == other.id


def test_a_failed_step_shows_the_task_page_again_with_the_answers_kept(sign_in, deploy, make_actor):
    """A diagram whose script fails after the step (tests/bundles/failing_step) answers 422, keeping the input."""
    deploy("failing_step")
    hana = sign_in("hub_practitioner", username="hana")
    case = cases.create(make_actor("referrer", username="rowan"), "north", "Robin Example")
    runtime.start(make_actor("referrer", username="tess"), case.id, "failing_step")
    step = open_task(case.id, "decide")
    token = _token(hana.get(f"/tasks/{step.id}"))
    response = hana.post(f"/tasks/{step.id}", data={"csrf_token": token, "action": "complete",
                                                    "note": "Kept as typed"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Step &#39;route_decision&#39; failed" in html and 'class="govuk-error-summary"' in html
    assert "Kept as typed" in html, "what was typed stays in the form"
    assert open_task(case.id, "decide").status == "open", "nothing was saved"
