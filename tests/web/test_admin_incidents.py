"""The incidents page: administrators of an area see its failed background steps, each case shown audited, and
retry one; a retry that fails again is counted and changes nothing, one that runs resolves the incident."""

from __future__ import annotations

import pytest
import time_machine
from flask import g
from sqlalchemy import func, select

from app.web.auth import limiter
from processes.engine import runtime, scheduler
from processes.engine.db import db
from processes.engine.models import AuditEvent, Incident
from tests.engine.test_notifications_and_incidents import FIRES, failing_files, waiting_case
from tests.support.tasks import snapshot
from tests.support.web import csrf_token, signed_in_client


@pytest.fixture
def failed(make_actor, deploy):
    """A case whose follow-up timer failed in the diagram at the sweep: one open incident."""
    case, instance = waiting_case(make_actor, deploy, failing_files())
    with time_machine.travel(FIRES, tick=False):
        scheduler.sweep_here()
    return case, instance, db.session.scalars(select(Incident)).one()


@pytest.fixture
def signed_in(app, make_actor):
    limiter.reset()

    def sign_in(*roles: str, areas: tuple[str, ...] = ("north",)):
        for cached in ("_login_user", "csrf_token"):  # kept in the test's app context from the last sign-in
            g.pop(cached, None)
        who = make_actor(*roles, areas=areas)
        return who, signed_in_client(app, who.username)

    return sign_in


def audited(action: str, user_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action, AuditEvent.user_id == user_id))


def retry(client, incident_id: int):
    return client.post(f"/admin/incidents/{incident_id}/retry",
                       data={"csrf_token": csrf_token(client.get("/admin/incidents"))})


def attempts(incident_id: int) -> tuple[str, int]:
    db.session.rollback()
    incident = db.session.get(Incident, incident_id)
    return incident.status, incident.attempts


def test_non_administrators_and_other_areas_neither_see_nor_retry_an_incident(signed_in, failed):
    _, _, incident = failed
    _, manager = signed_in("team_manager")
    assert manager.get("/admin/incidents").status_code == 403
    token = csrf_token(manager.get("/tasks"))
    assert manager.post(f"/admin/incidents/{incident.id}/retry", data={"csrf_token": token}).status_code == 403
    south_admin, south = signed_in("admin", areas=("south",))
    page = south.get("/admin/incidents").get_data(as_text=True)
    assert 'id="no-incidents"' in page and f'data-incident-id="{incident.id}"' not in page
    assert retry(south, incident.id).status_code == 404
    assert attempts(incident.id) == ("open", 1)
    assert audited("incident.retry", south_admin.id) == 0


def test_an_administrator_sees_the_incident_and_a_retry_that_fails_again_is_counted(signed_in, failed):
    case, instance, incident = failed
    admin, client = signed_in("admin")
    page = client.get("/admin/incidents").get_data(as_text=True)
    card = page.split(f'data-incident-id="{incident.id}"')[1]
    assert "step followup" in card and f'href="/cases/{case.id}"' in card
    assert "Away overnight" not in page, "the error names the step, never the child's details"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "incident.list", AuditEvent.user_id == admin.id, AuditEvent.case_id == case.id)) == 1, \
        "each case the list shows is audited"

    before = snapshot(instance.id)
    again = retry(client, incident.id)
    assert again.status_code == 422
    body = again.get_data(as_text=True)
    assert f"Incident {incident.id} failed again" in body and "The attempt is counted" in body
    assert attempts(incident.id) == ("open", 2)
    assert snapshot(instance.id) == before
    assert audited("incident.retry", admin.id) == 1


def test_a_retry_that_runs_resolves_the_incident_and_says_so(signed_in, failed):
    _, instance, incident = failed
    admin, client = signed_in("admin", "team_manager")
    runtime.cancel(admin, instance.id, "Referred in error")  # the cause dealt with: nothing is left to fire
    done = retry(client, incident.id)
    assert done.status_code == 302
    page = client.get("/admin/incidents").get_data(as_text=True)
    assert f"Incident {incident.id} is resolved" in page and 'id="no-incidents"' in page
    assert attempts(incident.id) == ("resolved", 1)
    assert audited("incident.resolve", admin.id) == 1
