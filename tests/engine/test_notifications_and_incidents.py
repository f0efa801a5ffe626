"""The API for in-app notifications and for incidents, and the embedded scheduler that `make run` uses."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app import create_app
from processes.engine import bundle_files, runtime, scheduler
from processes.engine.db import db
from processes.engine.models import AuditEvent, Incident
from processes.identity import users as identity
from processes.mace.models import Notification
from tests.support.factories import BUNDLES, screen, start_case
from tests.support.tasks import open_task, open_tasks, snapshot

DECIDED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FIRES = DECIDED + timedelta(hours=72, minutes=1)


def bearer(actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.create_token(actor.username)}"}


def waiting_case(make_actor, deploy, files=None, name="Kit Madeup"):
    """A case whose hub sent it to other services at DECIDED: a 72-hour timer waits before the follow-up."""
    definition = deploy("screening", files=files)
    referrer, hub = make_actor("referrer"), make_actor("hub_practitioner")
    with time_machine.travel(DECIDED, tick=False):
        case, instance = start_case(referrer, definition.key, name)
        screen(referrer, case.id, ["missing"], "Away overnight twice")
        runtime.complete_task(hub, open_task(case.id, "hub_decision").id, {"decision": "other_services"})
    return case, instance


def failing_files(due_in: str = "int(concern)") -> dict[str, str]:
    """The follow-up step's due date cannot be worked out, so firing the timer fails in the diagram."""
    files = bundle_files.read_folder(BUNDLES / "screening")
    files["screening.bpmn"] = files["screening.bpmn"].replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="followup.schema.json" />',
        '<spiffworkflow:property name="formJsonSchemaFilename" value="followup.schema.json" />\n'
        f'          <spiffworkflow:property name="due_in" value="{due_in}" />')
    return files


# Notifications


@pytest.fixture
def overdue_for_two(make_actor, deploy):
    """A hub decision gone overdue: one notice for the hub practitioner, one for the team manager."""
    deploy("screening")
    referrer = make_actor("referrer")
    hub, manager = make_actor("hub_practitioner"), make_actor("team_manager")
    with time_machine.travel(DECIDED, tick=False):
        case, _ = start_case(referrer, "screening", "Lee Notreal")
        screen(referrer, case.id)
    with time_machine.travel(DECIDED + timedelta(days=1, minutes=1), tick=False):
        assert scheduler.sweep_here().done["alerts"] == 1
    return hub, manager, open_task(case.id, "hub_decision")


def test_a_user_sees_only_their_own_notifications_with_an_unread_count(app, overdue_for_two):
    hub, manager, step = overdue_for_two
    client = app.test_client()
    headers = bearer(hub)
    body = client.get("/api/v1/notifications", headers=headers).get_json()
    assert body["unread"] == 1
    [item] = body["notifications"]
    assert (item["kind"], item["task_id"], item["task_name"], item["case_id"], item["read_at"]) == \
        ("overdue", step.id, "Decide on the referral", step.case_id, None)
    assert item["due_at"] == "2026-11-03T09:00:00+00:00"
    assert "Lee" not in str(body)

    theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == manager.id))
    refused = client.post(f"/api/v1/notifications/{theirs}/read", headers=headers)
    assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"

    read = client.post(f"/api/v1/notifications/{item['id']}/read", headers=headers)
    assert read.status_code == 200 and read.get_json()["read_at"]
    after = client.get("/api/v1/notifications", headers=headers).get_json()
    assert after["unread"] == 0 and len(after["notifications"]) == 1
    assert client.get("/api/v1/notifications?unread=true", headers=headers).get_json()["notifications"] == []
    assert client.get("/api/v1/notifications", headers=bearer(manager)).get_json()["unread"] == 1


# Incidents


def test_an_incident_is_for_administrators_of_its_area_and_a_retry_that_fails_again_counts(
        app, make_actor, deploy):
    case, instance = waiting_case(make_actor, deploy, failing_files())
    with time_machine.travel(FIRES, tick=False):
        scheduler.sweep_here()
    before = snapshot(instance.id)
    client = app.test_client()
    admin, south_admin = make_actor("admin"), make_actor("admin", areas=("south",))
    assert client.get("/api/v1/incidents", headers=bearer(make_actor("team_manager"))).status_code == 403
    assert client.get("/api/v1/incidents", headers=bearer(south_admin)).get_json() == []

    headers = bearer(admin)
    [incident] = client.get("/api/v1/incidents", headers=headers).get_json()
    assert (incident["instance_id"], incident["case_id"], incident["element_id"], incident["attempts"]) == \
        (instance.id, case.id, "followup", 1)
    assert "followup" in incident["error"] and "Away overnight" not in incident["error"]
    assert client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=bearer(south_admin)).status_code == 404

    with time_machine.travel(FIRES + timedelta(hours=1), tick=False):
        again = client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=headers)
    assert again.status_code == 422
    assert again.get_json()["element_id"] == "followup"
    [still] = client.get("/api/v1/incidents", headers=headers).get_json()
    assert (still["status"], still["attempts"]) == ("open", 2)
    assert snapshot(instance.id) == before, "a failed retry changes nothing in the pathway"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "incident.retry", AuditEvent.user_id == admin.id, AuditEvent.case_id == case.id)) == 1, \
        "the case history shows who retried it, though it failed"


@pytest.mark.parametrize("due_in", ["concern", "len(concern)"])
def test_a_due_time_of_the_wrong_kind_opens_an_incident_without_the_value_in_it(make_actor, deploy, caplog, due_in):
    """The expression runs but gives a value that is no due time: that too is the diagram's fault."""
    _, instance = waiting_case(make_actor, deploy, failing_files(due_in))
    with time_machine.travel(FIRES, tick=False):
        report = scheduler.sweep_here()
    assert report.failed == [] and len(report.incident_ids) == 1
    incident = db.session.get(Incident, report.incident_ids[0])
    assert (incident.instance_id, incident.element_id) == (instance.id, "followup")
    assert "not a date, datetime or ISO 8601 duration" in incident.error
    assert "Away overnight" not in incident.error
    assert not [r for r in caplog.records if "Away overnight" in r.getMessage()]


def test_retrying_an_incident_whose_pathway_was_since_cancelled_resolves_it(app, make_actor, deploy):
    _, instance = waiting_case(make_actor, deploy, failing_files())
    with time_machine.travel(FIRES, tick=False):
        scheduler.sweep_here()
    admin = make_actor("admin", "team_manager")
    runtime.cancel(admin, instance.id, "Referred in error")
    [incident] = db.session.scalars(select(Incident)).all()
    response = app.test_client().post(f"/api/v1/incidents/{incident.id}/retry", headers=bearer(admin))
    assert response.status_code == 200
    assert response.get_json()["status"] == "resolved" and response.get_json()["resolved_at"]
    assert app.test_client().get("/api/v1/incidents", headers=bearer(admin)).get_json() == []
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "incident.resolve", AuditEvent.user_id == admin.id)) == 1


def test_an_incident_does_not_hold_up_other_instances(make_actor, deploy):
    bad_case, bad = waiting_case(make_actor, deploy, failing_files())
    good_case, good = waiting_case(make_actor, deploy, name="Ash Unreal")  # the fixed pathway, version 2
    assert (bad.definition.version, good.definition.version) == (1, 2)
    with time_machine.travel(FIRES, tick=False):
        report = scheduler.sweep_here()
        assert report.done["timers"] == 1 and len(report.incident_ids) == 1
        assert [t.element_id for t in open_tasks(good_case.id)] == ["followup"]
        assert open_tasks(bad_case.id) == []
        assert scheduler.sweep_here().done["timers"] == 0
    [incident] = db.session.scalars(select(Incident)).all()
    assert (incident.instance_id, incident.attempts) == (bad.id, 1), "sweeps leave an open incident to its admin"


def test_a_sweep_pages_through_a_backlog_bigger_than_its_batch(make_actor, deploy):
    first, _ = waiting_case(make_actor, deploy)
    second, _ = waiting_case(make_actor, deploy, name="Ash Unreal")
    batches: list[list[int]] = []
    with time_machine.travel(FIRES, tick=False):
        handed = scheduler.sweep(lambda job, ids: batches.append(ids) if job == "timers" else None, limit=1)
    assert handed["timers"] == 2 and len(batches) == 2, "one sweep queues the whole backlog, a batch at a time"
    with time_machine.travel(FIRES, tick=False):
        assert scheduler.sweep_here(limit=1).done["timers"] == 2
    assert open_tasks(first.id) and open_tasks(second.id)


# The embedded scheduler


def test_the_embedded_scheduler_fires_due_timers_in_the_web_process(database_uri, make_actor, deploy):
    case, instance = waiting_case(make_actor, deploy)
    embedded = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "SCHEDULER": "embedded", "SWEEP_SECONDS": 1})
    try:
        with time_machine.travel(FIRES, tick=True):
            deadline = time.monotonic() + 15
            while not open_tasks(case.id) and time.monotonic() < deadline:
                time.sleep(0.2)
                db.session.rollback()
    finally:
        embedded.extensions["mace_scheduler"].stop()
    [task] = open_tasks(case.id)
    assert (task.element_id, task.instance_id) == ("followup", instance.id)
