"""Incident service: background jobs that failed inside the workflow, for administrators to see and retry."""

from __future__ import annotations

from sqlalchemy import select

from processes.engine import audit, runtime
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import NotFound, WorkflowFailed
from processes.engine.hooks import HOOKS
from processes.engine.models import Incident
from processes.engine.permissions import INCIDENT_RETRY
from processes.engine.transaction import atomic


@atomic
def record(instance_id: int, failure: WorkflowFailed) -> Incident:
    """Open an incident for the instance, or count one more failed attempt on the open one.

    The error is the engine's safe summary (element id and error type), never a child's details. The
    instance row is locked first: a lock on an incident that does not exist yet would let two failing
    jobs open one each.
    """
    instance = runtime.lock_instance(instance_id)
    incident = db.session.scalar(select(Incident).where(Incident.instance_id == instance_id,
                                                        Incident.status == "open"))
    at = now()
    if incident is None:
        area = HOOKS.area_of(instance.case_id)
        incident = Incident(instance_id=instance_id, case_id=instance.case_id, area_code=area, status="open",
                            attempts=0, created_at=at)
        db.session.add(incident)
        audit.record(None, "incident.open", case_id=instance.case_id, instance_id=instance_id,
                     detail=failure.element_id)
    incident.element_id = failure.element_id
    incident.error = failure.message[:500]
    incident.attempts += 1
    incident.updated_at = at
    return incident


def get(incident_id: int) -> Incident:
    """For the operator's shell, which has no actor: the CLI reports what its own sweep opened."""
    return db.session.get(Incident, incident_id)


def _require_admin(actor: Actor) -> None:
    actor.require(INCIDENT_RETRY, "see and retry incidents")


@atomic
def open_incidents(actor: Actor) -> list[Incident]:
    """Open incidents in the administrator's areas, oldest first; the cases they name are audited as shown."""
    _require_admin(actor)
    found = list(db.session.scalars(
        select(Incident).where(Incident.status == "open", Incident.area_code.in_(actor.areas)).order_by(Incident.id)
    ))
    audit.record_each(actor, "incident.list", (i.case_id for i in found))
    return found


def _visible(actor: Actor, incident_id: int) -> Incident:
    _require_admin(actor)
    incident = db.session.get(Incident, incident_id)
    if incident is None or incident.area_code not in actor.areas:
        raise NotFound(f"No incident {incident_id}.")
    return incident


@atomic
def _resolve(actor: Actor, incident_id: int) -> Incident:
    incident = db.session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update()
                                 .execution_options(populate_existing=True))
    if incident.status == "open":
        incident.status, incident.resolved_at, incident.resolved_by_id = "resolved", now(), actor.id
        audit.record(actor, "incident.resolve", case_id=incident.case_id, instance_id=incident.instance_id,
                     detail=incident.element_id)
    return incident


@atomic
def _audit_retry(actor: Actor, incident: Incident) -> None:
    """Committed on its own, so the retry is on record whether it then succeeds or fails."""
    audit.record(actor, "incident.retry", case_id=incident.case_id, instance_id=incident.instance_id,
                 detail=incident.element_id)


def retry(actor: Actor, incident_id: int) -> Incident:
    """Run the instance's due work again, once its cause has been dealt with.

    Resolved if it now runs; if it fails again the incident stays open with one more attempt counted,
    and the caller is told the error. Each part commits on its own, so a failure keeps the count.
    """
    incident = _visible(actor, incident_id)
    if incident.status != "open":
        return incident
    instance_id = incident.instance_id
    _audit_retry(actor, incident)
    try:
        runtime.fire_due_timers(instance_id)
    except WorkflowFailed as failure:
        record(instance_id, failure)
        raise
    return _resolve(actor, incident_id)
