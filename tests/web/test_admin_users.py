"""Administrators manage users and areas in the web app, through Flask's test client on the real database: each
change is audited, bad input names its field and changes nothing, and only administrators get in."""

from __future__ import annotations

import html

import pytest
from flask import g
from sqlalchemy import func, select

from app.web.auth import limiter
from processes.engine import tasks
from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask
from processes.identity import users as identity
from processes.identity.models import Area, User, WebSession
from processes.mace import allocation
from tests.support.factories import BOTH_AREAS, person, start_case
from tests.support.pathway import deploy_pathway
from tests.support.tasks import open_task
from tests.support.web import PASSWORD, csrf_token, errors_listed, signed_in_client


@pytest.fixture
def people(make_people):
    return make_people(admin=person("admin", areas=BOTH_AREAS, username="ada-admin"),
                       manager=person("team_manager", username="tam-manager"),
                       worker=person("referrer", "hub_practitioner", username="wren-worker"))


@pytest.fixture
def signed_in(app, people):
    limiter.reset()

    def sign_in(username: str = "ada-admin"):
        for cached in ("_login_user", "csrf_token"):  # kept in the test's app context from the last sign-in
            g.pop(cached, None)
        return signed_in_client(app, username)

    return sign_in


def audited(action: str) -> list[str | None]:
    """The details of the rows of this action done by someone signed in (the fixtures' set-up is by nobody)."""
    db.session.rollback()  # the requests committed in their own transactions
    return list(db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action,
                                                                  AuditEvent.user_id.is_not(None))))


def listed(response) -> dict[str, str]:
    """The error summary's messages by field, as the user reads them."""
    return {field: html.unescape(message) for field, message in errors_listed(response).items()}


def user(username: str) -> User:
    db.session.rollback()
    return identity.get_user(username)


def signed_out(app, client) -> bool:
    """Whether the client's next page asks it to sign in, in a request context of its own as when served (the
    test's context would hand back the user it loaded before)."""
    with app.app_context():
        response = client.get("/tasks")
    return response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def post(client, form_page: str, action: str, data: dict):
    return client.post(action, data={"csrf_token": csrf_token(client.get(form_page)), **data})


NEW = {"username": "nia-new", "display_name": "Nia New", "email": "nia@example.org",
       "roles": ["referrer", "allocated_worker"], "areas": ["north"]}


def test_only_administrators_reach_the_administration_pages_and_the_header_link(signed_in, people):
    manager = signed_in("tam-manager")
    assert "Administration" not in manager.get("/tasks").get_data(as_text=True)
    worker_id = people["worker"].id
    for page in ("/admin", "/admin/users", "/admin/users/new", f"/admin/users/{worker_id}",
                 f"/admin/users/{worker_id}/deactivate", "/admin/areas", "/admin/areas/north", "/admin/incidents"):
        assert manager.get(page).status_code == 403, page
    token = csrf_token(manager.get("/tasks"))
    for action, data in (("/admin/users/new", NEW), (f"/admin/users/{worker_id}/roles", {"roles": ["admin"]}),
                         (f"/admin/users/{worker_id}/deactivate", {}), (f"/admin/users/{worker_id}/password", {}),
                         ("/admin/areas", {"code": "east", "name": "East"})):
        assert manager.post(action, data={"csrf_token": token, **data}).status_code == 403, action
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "nia-new")) == 0
    assert [r.role for r in user("wren-worker").roles] == ["hub_practitioner", "referrer"]
    assert user("wren-worker").is_active and db.session.get(Area, "east") is None

    admin = signed_in()
    home = admin.get("/tasks").get_data(as_text=True)
    assert 'href="/admin"' in home and "Administration" in home
    page = admin.get("/admin").get_data(as_text=True)
    assert all(link in page for link in ('href="/admin/users"', 'href="/admin/areas"', 'href="/admin/incidents"'))


def test_an_administrator_adds_a_user_with_roles_and_areas(signed_in):
    admin = signed_in()
    added = post(admin, "/admin/users/new", "/admin/users/new", NEW)
    assert added.status_code == 302
    nia = user("nia-new")
    assert (nia.display_name, nia.email, nia.is_active) == ("Nia New", "nia@example.org", True)
    assert sorted(r.role for r in nia.roles) == ["allocated_worker", "referrer"]
    assert [a.area_code for a in nia.areas] == ["north"]
    assert audited("user.add") == [f"user {nia.id}: roles allocated_worker, referrer; areas north"]
    assert "Nia New" in admin.get("/admin/users").get_data(as_text=True)


def test_a_user_form_with_mistakes_names_each_field_keeps_the_answers_and_adds_nobody(signed_in):
    admin = signed_in()
    before = db.session.scalar(select(func.count()).select_from(User))
    refused = post(admin, "/admin/users/new", "/admin/users/new",
                   {**NEW, "username": "wren-worker", "display_name": "Kept Name", "roles": ["wizard"],
                    "areas": [], "email": "not-an-address"})
    assert refused.status_code == 400
    errors = listed(refused)
    assert list(errors) == ["username", "email", "roles", "areas"], "in the order the form asks"
    assert errors["username"] == "The username 'wren-worker' is taken."
    assert errors["roles"].startswith("Unknown role(s): wizard.")
    assert errors["areas"] == "Choose at least one area."
    assert "is not an email address" in errors["email"]
    body = refused.get_data(as_text=True)
    assert 'value="Kept Name"' in body and "<title>Error: " in body
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)) == before
    assert audited("user.add") == []


def test_a_form_sent_without_its_csrf_token_changes_nothing(signed_in, people):
    admin = signed_in()
    admin.get("/admin/users/new")
    assert admin.post("/admin/users/new", data=NEW).status_code == 400
    assert admin.post(f"/admin/users/{people['worker'].id}/deactivate").status_code == 400
    assert db.session.scalar(select(User.id).where(User.username == "nia-new")) is None
    assert user("wren-worker").is_active


def test_roles_and_areas_change_audited_and_a_wrong_choice_changes_nothing(signed_in, people):
    admin, worker_page = signed_in(), f"/admin/users/{people['worker'].id}"
    assert post(admin, worker_page, f"{worker_page}/roles", {"roles": ["referrer", "core_member"]}).status_code == 302
    assert post(admin, worker_page, f"{worker_page}/areas", {"areas": ["north", "south"]}).status_code == 302
    worker = user("wren-worker")
    assert sorted(r.role for r in worker.roles) == ["core_member", "referrer"]
    assert sorted(a.area_code for a in worker.areas) == ["north", "south"]
    assert audited("user.roles") == [f"user {worker.id}: core_member, referrer"]
    assert audited("user.areas") == [f"user {worker.id}: north, south"]

    for what, chosen, message in (("roles", ["wizard"], "Unknown role(s): wizard."),
                                  ("roles", [], "Choose at least one role."),
                                  ("areas", ["atlantis"], "Unknown area(s): atlantis.")):
        refused = post(admin, worker_page, f"{worker_page}/{what}", {what: chosen})
        assert refused.status_code == 400 and listed(refused)[what].startswith(message)
    worker = user("wren-worker")
    assert sorted(r.role for r in worker.roles) == ["core_member", "referrer"]
    assert sorted(a.area_code for a in worker.areas) == ["north", "south"]
    assert len(audited("user.roles")) == 1 and len(audited("user.areas")) == 1


def test_an_administrator_cannot_remove_their_own_administrator_role_nor_deactivate_themselves(signed_in, people):
    admin, mine = signed_in(), f"/admin/users/{people['admin'].id}"
    refused = post(admin, mine, f"{mine}/roles", {"roles": ["team_manager"]})
    assert refused.status_code == 400
    assert listed(refused)["roles"] == \
        "You cannot remove your own administrator role: ask another administrator."
    refused = post(admin, f"{mine}/deactivate", f"{mine}/deactivate", {})
    assert refused.status_code == 400
    assert listed(refused)["user-action"] == "You cannot deactivate yourself: ask another administrator."
    me = user("ada-admin")
    assert me.is_active and [r.role for r in me.roles] == ["admin"]
    assert audited("user.roles") == [] and audited("user.deactivate") == []
    # Adding a role to one's own is fine: the administrator role stays.
    assert post(admin, mine, f"{mine}/roles", {"roles": ["admin", "auditor"]}).status_code == 302


def test_deactivating_ends_sessions_revokes_tokens_and_returns_open_steps_to_the_pool(app, signed_in, people,
                                                                                     deploy):
    deploy("screening")
    worker = people["worker"]
    case, _ = start_case(worker, "screening")
    step = open_task(case.id, "screen")
    tasks.claim(worker, step.id)
    token = identity.create_token("wren-worker")
    worker_browser = signed_in("wren-worker")
    assert not signed_out(app, worker_browser)
    admin, page = signed_in(), f"/admin/users/{worker.id}/deactivate"

    confirm = admin.get(page).get_data(as_text=True)
    assert "Their 1 open step goes back to the pool of the step's role" in confirm
    done = post(admin, page, page, {})
    assert done.status_code == 302
    assert "1 session(s) ended, 1 API token(s) revoked, 1 open step(s)" in admin.get("/admin/users").get_data(
        as_text=True)

    assert not user("wren-worker").is_active
    assert db.session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == worker.id)) == 0
    assert signed_out(app, worker_browser)
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert db.session.get(HumanTask, step.id).assignee_id is None
    assert audited("user.deactivate") == \
        [f"user {worker.id}: 1 session(s) ended, 1 API token(s) revoked, 1 step(s) released"]
    assert audited("task.unclaim") == [f"user {worker.id} deactivated"]


def test_a_password_reset_is_shown_once_works_once_and_is_never_recorded(app, signed_in, people):
    target = signed_in("wren-worker")
    assert not signed_out(app, target)
    admin, page = signed_in(), f"/admin/users/{people['worker'].id}"
    shown = post(admin, page, f"{page}/password", {})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    password = shown.get_data(as_text=True).split('id="password" class="app-one-time-password">')[1].split("<")[0]
    assert len(password) >= 12
    assert signed_out(app, target), "the reset signed them out"

    fresh = app.test_client()
    with app.app_context():
        sign_in = {"username": "wren-worker", "csrf_token": csrf_token(fresh.get("/sign-in"))}
        assert fresh.post("/sign-in", data={**sign_in, "password": PASSWORD}).status_code == 400
        signed = fresh.post("/sign-in", data={**sign_in, "password": password})
    assert signed.headers["Location"] == "/account/password", "a one-time password: they choose their own first"
    with app.app_context():
        assert fresh.get("/tasks").headers["Location"] == "/account/password"
        form = {"csrf_token": csrf_token(fresh.get("/account/password"))}
        mismatch = fresh.post("/account/password", data={**form, "password": "my-own-long-secret", "again": "x"})
        short = fresh.post("/account/password", data={**form, "password": "short", "again": "short"})
    assert listed(mismatch) == {"again": "The two passwords are not the same."}
    assert listed(short) == {"password": "Use at least 12 characters."}
    assert user("wren-worker").must_change_password
    with app.app_context():
        chosen = fresh.post("/account/password",
                            data={**form, "password": "my-own-long-secret", "again": "my-own-long-secret"})
        assert chosen.headers["Location"] == "/tasks" and fresh.get("/tasks").status_code == 200
    assert not user("wren-worker").must_change_password
    assert len(audited("user.password_change")) == 1
    assert audited("user.password_reset") == [f"user {people['worker'].id}"]
    db.session.rollback()
    details = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.detail.is_not(None)))
    assert not [d for d in details if password in d]


def test_areas_are_added_and_renamed_audited_and_a_taken_code_or_empty_name_changes_nothing(signed_in):
    admin = signed_in()
    assert post(admin, "/admin/areas", "/admin/areas", {"code": "east", "name": "Northshire East"}).status_code == 302
    assert post(admin, "/admin/areas/east", "/admin/areas/east", {"name": "East Riding"}).status_code == 302
    assert "East Riding" in admin.get("/admin/areas").get_data(as_text=True)
    assert audited("area.add") == ["area east"] and audited("area.rename") == ["area east"]

    taken = post(admin, "/admin/areas", "/admin/areas", {"code": "north", "name": "Another North"})
    assert taken.status_code == 400 and listed(taken) == {"code": "The area code 'north' is taken."}
    bad = post(admin, "/admin/areas", "/admin/areas", {"code": "no spaces", "name": ""})
    assert bad.status_code == 400 and set(listed(bad)) == {"code", "name"}
    empty = post(admin, "/admin/areas/east", "/admin/areas/east", {"name": "  "})
    assert empty.status_code == 400 and listed(empty) == {"name": "Enter the area's name."}
    db.session.rollback()
    assert [(a.code, a.name) for a in db.session.scalars(select(Area).order_by(Area.code))] == \
        [("east", "East Riding"), ("north", "North"), ("south", "South")]
    assert len(audited("area.add")) == 1 and len(audited("area.rename")) == 1


def test_a_users_agency_and_team_are_set_from_the_configured_lists_and_audited(signed_in, people):
    deploy_pathway()  # the agencies offered are the deployed pathway's core agencies
    identity.create_team("North Exploitation Team", "north", "tam-manager")
    agency, name = next(iter(allocation.core_agencies().items()))
    admin = signed_in()
    worker = user("wren-worker")
    page = html.unescape(admin.get(f"/admin/users/{worker.id}").get_data(as_text=True))
    assert name in page and "North Exploitation Team" in page, "the choices come from configuration and teams"
    action = f"/admin/users/{worker.id}/team-agency"
    refused = post(admin, f"/admin/users/{worker.id}", action, {"agency": "no-such-agency", "team": ""})
    assert refused.status_code == 400 and "agency" in listed(refused)
    assert (user("wren-worker").agency, identity.team_of(worker.id)) == (None, None), "a refusal changes nothing"
    saved = post(admin, f"/admin/users/{worker.id}", action, {"agency": agency, "team": "North Exploitation Team"})
    assert saved.status_code == 302
    assert user("wren-worker").agency == agency
    assert identity.team_of(worker.id).name == "North Exploitation Team"
    assert len(audited("user.team_agency")) == 1
