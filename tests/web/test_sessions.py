"""Server-side sessions through real requests: sign-out, a new id at sign-in, ending a user's sessions,
deactivation, the idle timeout and the absolute lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.web.auth import limiter
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.identity import authentication
from processes.identity import users as identity
from processes.identity.models import User, WebSession
from tests.support.web import PASSWORD, csrf_token, signed_in_client


class Browser:
    """A test client whose every request runs in its own app context, as in a served app: Flask-Login then
    loads the user afresh each time instead of reusing the one an earlier request left in the test's `g`."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app, self.client = app, client

    def get(self, path: str):
        with self.app.app_context():
            return self.client.get(path)

    def post(self, path: str, data: dict):
        with self.app.app_context():
            return self.client.post(path, data=data)

    def cookie(self) -> str:
        return self.client.get_cookie("session").value

    def replay(self, cookie: str):
        """The inbox asked for with a saved session cookie, as someone who copied it would."""
        self.client.set_cookie("session", cookie)
        return self.get("/tasks")


@pytest.fixture
def browser(app, make_actor):
    limiter.reset()

    def sign_in(username: str = "pat") -> Browser:
        make_actor("referrer", username=username)
        with app.app_context():
            return Browser(app, signed_in_client(app, username))

    return sign_in


def live(username: str) -> int:
    """How many session rows the user has."""
    db.session.rollback()  # the test's own session may still hold a snapshot from before the requests
    return db.session.scalar(select(func.count()).select_from(WebSession).join(User).where(User.username == username))


def signed_out(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_a_cookie_saved_before_signing_out_opens_nothing_after_it(browser):
    pat = browser()
    saved = pat.cookie()
    assert pat.get("/tasks").status_code == 200
    assert signed_out(pat.post("/sign-out", {"csrf_token": csrf_token(pat.get("/tasks"))}))
    assert signed_out(pat.replay(saved)), "the saved cookie still opened the inbox after signing out"
    assert live("pat") == 0


def test_signing_in_makes_a_new_session_and_the_cookie_from_before_opens_nothing(app, make_actor):
    make_actor("referrer", username="pat")
    authentication.set_password("pat", PASSWORD)
    visitor = Browser(app, app.test_client())
    token = csrf_token(visitor.get("/sign-in"))
    before = visitor.cookie()  # what someone could plant in the browser before pat signs in
    signed = visitor.post("/sign-in", {"username": "pat", "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 302 and visitor.get("/tasks").status_code == 200
    assert visitor.cookie() != before
    assert signed_out(visitor.replay(before))
    # Each sign-in is a session of its own: a second browser's sign-in neither reuses nor ends the first.
    with app.app_context():
        other = Browser(app, signed_in_client(app, "pat"))
    assert live("pat") == 2
    assert other.get("/tasks").status_code == 200


def test_an_administrator_ends_every_session_of_a_user_from_the_command_line(app, browser):
    laptop, phone = browser(), Browser(app, app.test_client())
    with app.app_context():
        phone.client = signed_in_client(app, "pat")
    assert laptop.get("/tasks").status_code == 200 and phone.get("/tasks").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "sign-out", "pat"])
    assert result.exit_code == 0 and "2 session(s) of pat ended." in result.output
    assert signed_out(laptop.get("/tasks")) and signed_out(phone.get("/tasks"))
    db.session.rollback()
    audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "user.sessions_ended"))
    assert list(audited) == ["user.sessions_ended"]


def test_deactivating_a_user_ends_their_sessions_and_refuses_signing_in_again(app, browser):
    pat = browser()
    token = identity.create_token("pat")
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "deactivate", "pat"])
    assert result.exit_code == 0 and "1 session(s) ended" in result.output
    assert signed_out(pat.get("/tasks"))
    form = csrf_token(pat.get("/sign-in"))
    refused = pat.post("/sign-in", {"username": "pat", "password": PASSWORD, "csrf_token": form})
    assert refused.status_code == 400 and live("pat") == 0
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_session_unused_for_the_idle_timeout_ends_and_one_in_use_carries_on(app, browser):
    assert app.config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=30)  # the default
    start = now()
    with time_machine.travel(start, tick=False) as clock:
        pat = browser()
        for _ in range(4):  # an hour and a half of work, a page every 25 minutes
            clock.shift(timedelta(minutes=25))
            assert pat.get("/tasks").status_code == 200
        clock.shift(timedelta(minutes=31))
        assert signed_out(pat.get("/tasks"))
    assert live("pat") == 0


def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, browser, monkeypatch):
    assert app.config["SESSION_LIFETIME"] == timedelta(hours=12)  # the default
    # Shorter than the cookie's own signature age (12 h), so it is the server's table that ends it.
    monkeypatch.setitem(app.config, "SESSION_LIFETIME", timedelta(hours=2))
    start = now()
    with time_machine.travel(start, tick=False) as clock:
        pat = browser()
        for _ in range(7):  # busy, a page every 17 minutes: 1 h 59 min
            clock.shift(timedelta(minutes=17))
            assert pat.get("/tasks").status_code == 200
        clock.shift(timedelta(minutes=2))
        assert signed_out(pat.get("/tasks"))


def test_a_cookie_taken_to_another_browser_is_signed_out(app, browser):
    # Sign-in no longer makes the session permanent, so Flask-Login's strong protection acts on it.
    pat = browser()
    with app.app_context():
        elsewhere = pat.client.get("/tasks", headers={"User-Agent": "another-browser/1.0"})
    assert signed_out(elsewhere)
