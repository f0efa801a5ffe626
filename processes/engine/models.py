"""The engine's tables: deployed definitions, process instances, human tasks, timers, incidents and audit."""


from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processes.engine.db import Timestamp, db


class ProcessDefinition(db.Model):
    """One deployed version of a bundle of BPMN, DMN and form files."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definitions_key_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    entry_process_id: Mapped[str] = mapped_column(String(255))
    # Deferred: steps need only the id and hash (parsed specs are cached); the files load on a cache miss.
    files: Mapped[dict[str, str]] = mapped_column(JSON, deferred=True)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime] = mapped_column(Timestamp)


class ProcessInstance(db.Model):
    """A running pathway for a case, pinned to the definition version it started on."""

    __tablename__ = "process_instances"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(Text)
    # Optimistic concurrency: every write moves it on by one, guarded (write_queue.update_row).
    version: Mapped[int] = mapped_column(Integer)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")


class HumanTask(db.Model):
    """A user task, kept in step with the workflow on every save; inboxes read only this table."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        UniqueConstraint("instance_id", "spiff_task_id", name="uq_human_tasks_instance_spiff_task"),
        Index("ix_human_tasks_queue", "status", "area_code", "role", "due_at"),
        Index("ix_human_tasks_assignee", "assignee_id", "status", "due_at"),
        Index("ix_human_tasks_status_due", "status", "due_at"),
        Index("ix_human_tasks_instance_status", "instance_id", "status"),
        Index("ix_human_tasks_case_completed", "case_id", "completed_at"),
        Index("ix_human_tasks_alerts", "status", "next_alert_at"),
        # The worklists' stage filter, e.g. a manager's team view of one stage across their areas.
        Index("ix_human_tasks_stage", "status", "process_id", "due_at"),
        # Covers the oversight dashboard's counts by stage, area and assignee, read from the index alone.
        Index("ix_human_tasks_oversight", "status", "area_code", "process_id", "assignee_id", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    area_code: Mapped[str] = mapped_column(String(40))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    process_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    form: Mapped[str | None] = mapped_column(String(255))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Narrows the role to one group of its holders (an agency, say), as a step-opened listener sets it:
    # only actors in that group see or claim it. None: anyone of the role.
    group_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When the next reminder, overdue notice or escalation falls due; sweeps find them by this alone.
    next_alert_at: Mapped[datetime | None] = mapped_column(Timestamp)
    alerts_raised: Mapped[str | None] = mapped_column(String(40))  # e.g. "reminder,overdue"
    escalates: Mapped[bool] = mapped_column(default=False, server_default=false())  # to the MACE chairs
    # Someone saved unfinished answers to it: only then has completing it drafts to drop.
    has_draft: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What the step recorded, its form's fields only, set as it completes: the case page reads this, so it
    # never deserializes a workflow, and pruning may drop the finished task from the saved state. Deferred:
    # worklists load many rows and never show answers.
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)


class Timer(db.Model):
    """A waiting timer event; sweeps find due ones by the indexed fire time alone."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_task_id", name="uq_timers_instance_spiff_task"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    fire_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class Incident(db.Model):
    """A background job that failed inside the workflow (a script or expression raised); admins retry it.

    While an instance has an open incident, sweeps leave it alone, so it neither holds up other
    instances nor fails again every minute.
    """

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_instance", "status", "instance_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    area_code: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditEvent(db.Model):
    """Append-only record of who read or changed what; it never holds form contents.

    No foreign keys on purpose: the log is independent evidence that must outlive the erasure of a
    case's records, and it must not slow every change with referential checks.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_case_at", "case_id", "at"), Index("ix_audit_events_at", "at"),
                      Index("ix_audit_events_user_at", "user_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    user_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    human_task_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(255))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(_mapper, _connection, target: AuditEvent) -> None:
    raise PermissionError(f"Audit event {target.id} cannot be changed or deleted.")
