"""Notifications in the web app: the header's unread count on every page, the list newest first with each step
linked, read once the step is opened, "mark all as read" behind CSRF, and the list audited for each child."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.web.auth import limiter
from processes.engine import scheduler
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.mace import referrals
from tests.support.factories import person
from tests.support.tasks import open_task
from tests.support.web import csrf_token, signed_in_client

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SCREENING = {"exploitation_types": ["online"], "concern": "Messages from an adult"}


@pytest.fixture
def people(make_people):
    return make_people(referrer=person("referrer", username="rowan"), hub=person("hub_practitioner", username="hana"),
                       south_hub=person("hub_practitioner", areas=("south",), username="suki"))


@pytest.fixture
def overdue(app, deploy, people):
    """Two children's hub decisions, both long overdue, and the sweep that told the hub about them."""
    deploy("screening", key=app.config["PATHWAY_KEY"])
    with time_machine.travel(MONDAY, tick=False):
        made = [referrals.start(people["referrer"], app.config["PATHWAY_KEY"], SCREENING, area="north",
                                child_name=name).case for name in ("Robin Example", "Sky Sample")]
    with time_machine.travel(MONDAY + timedelta(days=14), tick=False):
        scheduler.sweep_here()
    return [open_task(case.id, "hub_decision") for case in made]


@pytest.fixture
def client(app, people):
    limiter.reset()
    return signed_in_client(app, "hana")


def unread_in_header(html: str) -> int:
    found = re.search(r'id="unread-count">(\d+)<', html)
    return int(found.group(1)) if found else 0


def test_the_header_counts_unread_notifications_on_every_page(overdue, client):
    for path in ("/tasks", "/notifications", "/search", "/my-cases"):
        assert unread_in_header(client.get(path).get_data(as_text=True)) == 2, path


def test_the_list_is_newest_first_links_each_step_and_audits_each_child(overdue, client):
    html = client.get("/notifications").get_data(as_text=True)
    listed = [int(n) for n in re.findall(r'data-notification-id="(\d+)"', html)]
    assert listed == sorted(listed, reverse=True) and len(listed) == 2
    for task in overdue:
        assert f'href="/tasks/{task.id}"' in html
    assert "Robin Example" in html and "Sky Sample" in html and "Overdue" in html
    shown = set(db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "notification.list")))
    assert shown == {task.case_id for task in overdue}


def test_opening_the_step_marks_its_notification_read(overdue, client):
    assert client.get(f"/tasks/{overdue[0].id}").status_code == 200
    html = client.get("/notifications").get_data(as_text=True)
    assert unread_in_header(html) == 1
    assert html.count("data-unread") == 1


def test_mark_all_read_needs_its_csrf_token_and_then_clears_the_count(overdue, client):
    assert client.post("/notifications/read").status_code == 400
    assert unread_in_header(client.get("/tasks").get_data(as_text=True)) == 2, "the forged request did nothing"
    token = csrf_token(client.get("/notifications"))
    done = client.post("/notifications/read", data={"csrf_token": token}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "2 notifications marked as read." in html and unread_in_header(html) == 0
    assert "Mark all as read" not in html


def test_another_areas_worker_is_told_nothing(app, overdue, people):
    other = signed_in_client(app, "suki")
    html = other.get("/notifications").get_data(as_text=True)
    assert unread_in_header(html) == 0 and "You have no notifications." in html and "Robin Example" not in html
