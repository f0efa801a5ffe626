"""History service: an instance's state, a case's steps across all its instances, and its audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from processes.engine import audit
from processes.engine.access import visible_case_area, visible_instance
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask, ProcessInstance, Timer
from processes.engine.transaction import atomic


@dataclass
class InstanceState:
    instance: ProcessInstance
    open_tasks: list[HumanTask]
    timers: list[Timer]


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as the reader may see it (a cancel reason only for those who may cancel)."""

    at: datetime
    user_id: int | None
    action: str
    instance_id: int | None
    human_task_id: int | None
    detail: str | None


@dataclass
class CaseHistory:
    instances: list[ProcessInstance]
    steps: list[HumanTask]
    audit: list[AuditEntry]


@atomic
def instance_state(actor: Actor, instance_id: int) -> InstanceState:
    instance = visible_instance(actor, db.session.get(ProcessInstance, instance_id), instance_id)
    audit.record(actor, "instance.view", case_id=instance.case_id, instance_id=instance.id)
    return InstanceState(
        instance,
        list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == "open").order_by(HumanTask.id))),
        list(db.session.scalars(select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.fire_at))),
    )


@atomic
def case_history(actor: Actor, case_id: int) -> CaseHistory:
    """Every step of every instance (cycle) of the case, oldest first, with who read or changed it."""
    visible_case_area(actor, case_id)
    audit.record(actor, "case.history.view", case_id=case_id)
    return CaseHistory(
        list(db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case_id)
                                .order_by(ProcessInstance.id))),
        list(db.session.scalars(select(HumanTask).where(HumanTask.case_id == case_id).order_by(HumanTask.id))),
        [AuditEntry(e.at, e.user_id, e.action, e.instance_id, e.human_task_id, audit.shown_detail(actor, e))
         for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id))],
    )
