"""Single sign-on over real HTTP: the app served on loopback, signing in through a real OpenID provider
(oidc-provider on Node), matched by verified email then by subject, with roles from a groups claim."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
import requests
from flask import Flask
from markupsafe import escape
from sqlalchemy import select

from app import create_app
from app.web import sso as sso_web
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.identity import authentication, sso
from processes.identity.models import User
from tests.support import oidc
from tests.support.web import PASSWORD, served

GROUPS = {"mace-referrers-north": {"roles": ["referrer"], "areas": ["north"]},
          "mace-managers-south": {"roles": ["team_manager"], "areas": ["south"]}}


@dataclass
class Site:
    app: Flask
    url: str
    issuer: str


@pytest.fixture(scope="module")
def site(app, database_uri, tmp_path_factory) -> Iterator[Site]:
    """The app with single sign-on configured, served, and the provider it trusts, for this module."""
    port = oidc.provider_port()
    issuer = f"http://127.0.0.1:{port}"
    served_app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "TESTING": True, **oidc.settings(issuer)})
    with served(served_app) as url:
        served_app.config["BASE_URL"] = url  # where users reach it, as a deployment sets it
        with oidc.provider(port, f"{url}/sign-in/sso/callback", tmp_path_factory.mktemp("oidc")):
            yield Site(served_app, url, issuer)


@pytest.fixture
def with_groups(site, monkeypatch) -> None:
    """OIDC_GROUP_MAP set, as the app reads it at start-up."""
    client = site.app.extensions["mace_sso"]
    rules = sso.Rules(sso.GroupMap.parse(json.dumps(GROUPS), "groups"))
    monkeypatch.setitem(site.app.extensions, "mace_sso", replace(client, rules=rules))


def user(username: str) -> User | None:
    db.session.rollback()  # read what the served app committed
    return db.session.scalar(select(User).where(User.username == username))


def last_audit() -> tuple[str, str | None]:
    """The latest sign-in row: the inbox a sign-in lands on audits its own listing after it."""
    db.session.rollback()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("user.sign_in"))
                               .order_by(AuditEvent.id.desc())).first()
    return event.action, event.detail


def test_a_user_with_that_verified_email_signs_in_to_the_inbox_and_is_matched_by_subject_after(site, make_actor):
    make_actor("referrer", username="rowan", email="Rowan.SSO@example.org")
    inbox = oidc.sign_in_through_provider(requests.Session(), site.url, "rowan.sso")
    assert inbox.status_code == 200 and inbox.url == f"{site.url}/tasks"
    assert "My tasks" in inbox.text and "Sign out" in inbox.text
    assert user("rowan").sso_subject == f"{site.issuer} rowan.sso"
    assert last_audit() == ("user.sign_in", "single sign-on")
    # The council changes the address here; the stored subject still finds the user.
    user("rowan").email = "rowan.renamed@example.org"
    db.session.commit()
    again = oidc.sign_in_through_provider(requests.Session(), site.url, "rowan.sso")
    assert again.status_code == 200 and again.url == f"{site.url}/tasks"


def test_an_unverified_email_matches_nobody_and_the_page_says_so(site, make_actor):
    make_actor("referrer", username="sky", email="sky.unverified@example.org")
    http = requests.Session()
    refused = oidc.sign_in_through_provider(http, site.url, "sky.unverified")
    assert refused.status_code == 400 and str(escape(sso_web.REFUSED)) in refused.text
    assert user("sky").sso_subject is None
    assert last_audit() == ("user.sign_in_failed",
                            "single sign-on: no user has this subject and the email is not verified")
    assert http.get(f"{site.url}/tasks", timeout=10).url.startswith(f"{site.url}/sign-in")


def test_the_groups_claim_gives_roles_and_areas_creates_new_users_and_takes_access_away(site, with_groups,
                                                                                       make_actor):
    new = oidc.sign_in_through_provider(requests.Session(), site.url, "kit.new")
    assert new.status_code == 200 and new.url == f"{site.url}/tasks"
    kit = user("kit.new")
    assert {r.role for r in kit.roles} == {"referrer", "team_manager"}
    assert {a.area_code for a in kit.areas} == {"north", "south"}
    assert kit.email == "kit.new@example.org" and kit.display_name == "Kit Newstarter"
    # A user kept here with more access: their groups now decide it.
    make_actor("admin", "team_manager", username="rowan", areas=("north", "south"), email="rowan.sso@example.org")
    assert oidc.sign_in_through_provider(requests.Session(), site.url, "rowan.sso").status_code == 200
    rowan = user("rowan")
    assert {r.role for r in rowan.roles} == {"referrer"} and {a.area_code for a in rowan.areas} == {"north"}
    # Groups that give nothing: no user is made and nobody is signed in.
    refused = oidc.sign_in_through_provider(requests.Session(), site.url, "jo.nogroups")
    assert refused.status_code == 400 and user("jo.nogroups") is None


def test_a_deactivated_user_cannot_sign_in_through_the_provider(site, make_actor):
    make_actor("referrer", username="rowan", email="rowan.sso@example.org")
    site.app.test_cli_runner().invoke(args=["users", "deactivate", "rowan"])
    refused = oidc.sign_in_through_provider(requests.Session(), site.url, "rowan.sso")
    assert refused.status_code == 400
    assert last_audit() == ("user.sign_in_failed", "single sign-on: the user is inactive")


@pytest.mark.parametrize(("asked", "lands"), [("/tasks?scope=available", "/tasks?scope=available"),
                                              ("https://elsewhere.example/", "/tasks")])
def test_signing_in_comes_back_to_the_page_asked_for_on_this_site_only(site, make_actor, asked, lands):
    make_actor("referrer", username="rowan", email="rowan.sso@example.org")
    back = oidc.sign_in_through_provider(requests.Session(), site.url, "rowan.sso", next_page=asked)
    assert back.status_code == 200 and back.url == f"{site.url}{lands}"


def test_a_forged_callback_signs_nobody_in(site):
    http = requests.Session()
    forged = http.get(f"{site.url}/sign-in/sso/callback", params={"code": "stolen", "state": "made-up"}, timeout=10)
    assert forged.status_code == 400 and str(escape(sso_web.FAILED)) in forged.text
    assert http.get(f"{site.url}/tasks", timeout=10).url.startswith(f"{site.url}/sign-in")


def test_with_local_passwords_off_a_right_password_signs_nobody_in(site, make_actor, monkeypatch):
    make_actor("referrer", username="pat")
    authentication.set_password("pat", PASSWORD)
    http = requests.Session()
    token = oidc.csrf_token(http.get(f"{site.url}/sign-in", timeout=10).text)  # the form as it was
    monkeypatch.setitem(site.app.config, "PASSWORD_SIGN_IN", False)
    page = http.get(f"{site.url}/sign-in", timeout=10).text
    assert 'type="password"' not in page and f"Sign in with {oidc.NAME}" in page
    refused = http.post(f"{site.url}/sign-in", data={"username": "pat", "password": PASSWORD, "csrf_token": token},
                        timeout=10)
    assert refused.status_code == 400 and "Sign in with your organisation&#39;s account instead" in refused.text
    assert http.get(f"{site.url}/tasks", timeout=10).url.startswith(f"{site.url}/sign-in")
