"""The web app through Flask's test client: sign-in, CSRF, rate limits, headers, and forms built from schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import render_template_string
from markupsafe import escape

from app.web import formkit
from app.web.auth import limiter
from processes.engine import bundle as bundles
from processes.engine import bundle_files
from processes.identity import authentication
from processes.mace import referrals
from tests.support.tasks import open_task
from tests.support.web import PASSWORD, csrf_token, errors_listed, signed_in_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def browser(app, make_actor):
    """A signed-in test client for a new user with these roles."""
    limiter.reset()

    def sign_in(*roles: str, username: str = "pat", areas: tuple[str, ...] = ("north",)):
        actor = make_actor(*roles, username=username, areas=areas)
        client = signed_in_client(app, username)
        client.actor = actor
        return client

    return sign_in


def test_every_page_asks_to_sign_in_but_health_assets_and_the_api_keep_their_own_rules(app):
    client = app.test_client()
    for path in ("/", "/tasks", "/tasks/1", "/cases/1", "/referrals/new", "/no-such-page"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), path
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/js/init.mjs").status_code == 200
    api = client.get("/api/v1/tasks")
    assert api.status_code == 401 and api.get_json()["code"] == "unauthenticated"


def test_forms_need_their_csrf_token(app, browser):
    client = browser("referrer")
    response = client.post("/sign-out")
    assert response.status_code == 400
    assert "Your form could not be sent" in response.get_data(as_text=True)
    assert client.get("/tasks").status_code == 200, "still signed in: the forged request did nothing"


def test_failed_sign_ins_are_limited_and_say_so(app, make_actor, monkeypatch):
    limiter.reset()
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "3 per minute")
    make_actor("referrer", username="pat")
    authentication.set_password("pat", PASSWORD)
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    statuses = [client.post("/sign-in", data={"username": "pat", "password": "wrong", "csrf_token": token}).status_code
                for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    blocked = client.post("/sign-in", data={"username": "pat", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429 and "Too many attempts" in blocked.get_data(as_text=True)
    limiter.reset()


def test_a_wrong_password_is_a_plain_error_and_the_next_address_stays_on_this_site(app, make_actor):
    limiter.reset()
    make_actor("referrer", username="pat")
    authentication.set_password("pat", PASSWORD)
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    wrong = client.post("/sign-in", data={"username": "pat", "password": "nope", "csrf_token": token})
    assert errors_listed(wrong) == {"username": "Enter a correct username and password"}
    elsewhere = client.post("/sign-in", data={"username": "pat", "password": PASSWORD, "csrf_token": token,
                                              "next": "https://evil.example/steal"})
    assert elsewhere.headers["Location"] == "/tasks"


def test_pages_hold_no_cache_and_a_strict_content_policy(app, browser):
    response = browser("referrer").get("/tasks")
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert re.search(r"script-src 'self' 'nonce-[^']+'", policy)
    assert response.headers["X-Frame-Options"] == "DENY"


def test_another_areas_task_and_case_are_not_found(app, browser, deploy, make_actor):
    deploy("screening", key=app.config["PATHWAY_KEY"])
    referrer = make_actor("referrer", username="rowan")
    made = referrals.start(referrer, app.config["PATHWAY_KEY"], {"exploitation_types": ["online"], "concern": "X"},
                           area="north", child_name="Robin Example")
    outsider = browser("hub_practitioner", username="sasha", areas=("south",))
    for path in (f"/cases/{made.case.id}", f"/tasks/{open_task(made.case.id, 'hub_decision').id}"):
        response = outsider.get(path)
        assert response.status_code == 404, path
        assert "Robin Example" not in response.get_data(as_text=True)


@pytest.fixture
def plan_task(app, deploy, make_actor):
    deploy("staged", key=app.config["PATHWAY_KEY"])
    referrer = make_actor("referrer", username="rowan")
    made = referrals.start(referrer, app.config["PATHWAY_KEY"], {"concern": "Worried"}, area="north",
                           child_name="Robin Example")
    return open_task(made.case.id, "write_plan")


def test_repeating_rows_are_added_and_removed_without_javascript_and_a_draft_keeps_them(app, browser, plan_task):
    client = browser("ric_senior_practitioner")
    page = client.get(f"/tasks/{plan_task.id}")
    token = csrf_token(page)
    assert ">Add an action</button>" in page.get_data(as_text=True)
    form = {"csrf_token": token, "risk_level": "high", "actions-rows": "0", "action": "add:actions"}
    added = client.post(f"/tasks/{plan_task.id}", data=form).get_data(as_text=True)
    assert 'name="actions.0.action"' in added and 'value="high" checked' in added, "typed answers stay"
    two = {**form, "actions-rows": "2", "action": "save", "actions.0.action": "Visit school",
           "actions.0.agency": "education", "actions.1.action": "Patrol the park", "actions.1.agency": "police",
           "actions.1.due_date-day": "5", "actions.1.due_date-month": "1", "actions.1.due_date-year": "2027"}
    saved = client.post(f"/tasks/{plan_task.id}", data=two)
    assert saved.status_code == 302
    reloaded = client.get(f"/tasks/{plan_task.id}").get_data(as_text=True)
    assert ">Visit school</textarea>" in reloaded and ">Patrol the park</textarea>" in reloaded
    assert 'name="actions.1.due_date-year" type="text" inputmode="numeric" value="2027"' in reloaded
    removed = client.post(f"/tasks/{plan_task.id}", data={**two, "action": "remove:actions:0"}).get_data(as_text=True)
    assert "Visit school" not in removed and ">Patrol the park</textarea>" in removed


def test_field_errors_use_plain_words_and_a_wrong_date_is_shown_as_typed(app, browser, plan_task):
    client = browser("ric_senior_practitioner")
    token = csrf_token(client.get(f"/tasks/{plan_task.id}"))
    response = client.post(f"/tasks/{plan_task.id}", data={
        "csrf_token": token, "action": "complete", "attendees": "lots", "actions-rows": "1",
        "actions.0.action": "Visit school", "actions.0.due_date-day": "31", "actions.0.due_date-month": "2",
        "actions.0.due_date-year": "2027", "meeting_date-day": "3"})
    assert response.status_code == 400
    listed = errors_listed(response)
    assert listed["risk_level"] == "Select risk level"
    assert listed["threshold_met"] == "Select yes or no for is the MACE 1 threshold met?"
    assert listed["attendees"] == "How many attended? must be a whole number"
    assert listed["meeting_date-day"] == "Date of the RIC meeting must include a month and year"
    assert listed["actions-0-due_date-day"] == "Due date must be a real date"
    assert listed["actions-0-agency"] == "Select agency"
    html = response.get_data(as_text=True)
    assert 'name="actions.0.due_date-day" type="text" inputmode="numeric" value="31"' in html


def test_completing_the_plan_shows_it_and_its_actions_on_the_case_page(app, browser, plan_task):
    client = browser("ric_senior_practitioner")
    token = csrf_token(client.get(f"/tasks/{plan_task.id}"))
    done = client.post(f"/tasks/{plan_task.id}", data={
        "csrf_token": token, "action": "complete", "risk_level": "high", "threshold_met": "yes",
        "disruption": ["notice", "patrols"], "actions-rows": "1", "actions.0.action": "Visit school",
        "actions.0.agency": "education", "actions.0.due_date-day": "5", "actions.0.due_date-month": "1",
        "actions.0.due_date-year": "2027"})
    assert done.status_code == 302 and re.fullmatch(r"/cases/\d+", done.headers["Location"]), "ids only in URLs"
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    plan = page[page.index('id="plan"'):]
    for shown in ("High: known", "Yes", "Abduction notice", "Visit school", "Education", "5 January 2027"):
        assert shown in plan, shown


def test_every_form_of_the_pathway_renders(app):
    """The real pathway's forms (forms/) each draw every field they declare, and every choice's label."""
    files = bundle_files.read_folder(ROOT / "forms")
    schemas = {name: text for name, text in files.items() if bundles.is_form(name) and ".message." not in name}
    assert schemas
    with app.test_request_context("/"):
        for name, text in schemas.items():
            schema = json.loads(text)
            ui = json.loads(files.get(bundles.ui_schema_name(name), "{}"))
            fields = formkit.fields(schema, ui, formkit.raw_from_data(schema, {}), {})
            html = render_template_string('{% from "macros/forms.html" import field %}'
                                          '{% for f in fields %}{{ field(f) }}{% endfor %}', fields=fields)
            for prop in schema.get("properties", {}).values():
                assert str(escape(prop.get("title") or "")) in html, f"{name}: {prop.get('title')} is not drawn"
                for option in prop.get("oneOf") or prop.get("items", {}).get("oneOf") or []:
                    assert str(escape(option["title"])) in html, f"{name}: choice {option['title']} is not drawn"
