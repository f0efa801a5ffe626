"""Database tables: definitions, cases, instances, tasks, drafts, timers, notifications, incidents, audit, users."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
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

from .db import db

Timestamp = DateTime(timezone=True)


class Area(db.Model):
    """A partnership area (e.g. Mid, South); cases and users belong to areas."""

    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    areas: Mapped[list[UserArea]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class UserRole(db.Model):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class UserArea(db.Model):
    __tablename__ = "user_areas"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)


class ApiToken(db.Model):
    """An API token; only its SHA-256 digest is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


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


class Case(db.Model):
    """A child whose pathway the partnership runs; the area decides who may see it."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    child_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


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
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When the next reminder, overdue notice or escalation falls due; sweeps find them by this alone.
    next_alert_at: Mapped[datetime | None] = mapped_column(Timestamp)
    alerts_raised: Mapped[str | None] = mapped_column(String(40))  # e.g. "reminder,overdue"
    escalates: Mapped[bool] = mapped_column(default=False, server_default=false())  # to the MACE chairs


class TaskDraft(db.Model):
    """A user's unfinished answers to an open task, saved to finish later; removed once the task is done.

    Its contents are never audited, only that a draft was saved.
    """

    __tablename__ = "task_drafts"
    __table_args__ = (UniqueConstraint("human_task_id", "user_id", name="uq_task_drafts_task_user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    data: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Timer(db.Model):
    """A waiting timer event; sweeps find due ones by the indexed fire time alone."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_task_id", name="uq_timers_instance_spiff_task"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    fire_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class Notification(db.Model):
    """A reminder, overdue notice or escalation about a step, for one user: in the app, and by email.

    Unique per step, kind and user, so each is raised once however often the sweep runs.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("human_task_id", "kind", "user_id", name="uq_notifications_task_kind_user"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_email", "email_status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    read_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # pending (to send), sending (claimed by a worker), sent, failed (refused for good), or none (no address,
    # or email is off); emailed_at is when it was claimed, then when it was sent or refused
    email_status: Mapped[str] = mapped_column(String(10))
    emailed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    task: Mapped[HumanTask] = relationship(lazy="joined")


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
    __table_args__ = (Index("ix_audit_events_case_at", "case_id", "at"),)
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


class Meeting(db.Model):
    """A MACE 1 meeting of an area, generated ahead from the cadence in the pathway's timescales."""

    __tablename__ = "mace1_meetings"
    __table_args__ = (UniqueConstraint("area_code", "starts_at", name="uq_mace1_meetings_area_starts"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    starts_at: Mapped[datetime] = mapped_column(Timestamp)
    plan_deadline: Mapped[date] = mapped_column(Date)
    minutes_per_case: Mapped[int | None] = mapped_column(Integer)


class Booking(db.Model):
    """A case booked onto a MACE 1 meeting, projected from the pathway whenever its booking changes.

    The agenda of a meeting is its bookings: read from this table, never from workflow state.
    """

    __tablename__ = "mace1_bookings"
    __table_args__ = (
        UniqueConstraint("case_id", "meeting_at", name="uq_mace1_bookings_case_meeting"),
        Index("ix_mace1_bookings_agenda", "area_code", "meeting_at", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    area_code: Mapped[str] = mapped_column(String(40))
    meeting_at: Mapped[datetime] = mapped_column(Timestamp)
    plan_deadline: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))  # new (a RIC plan) or review
    status: Mapped[str] = mapped_column(String(10))  # booked, or moved to a later meeting
    booked_at: Mapped[datetime] = mapped_column(Timestamp)


class BookingMove(db.Model):
    """A case moved to a later meeting, by business support or because its plan was late; the reason is kept."""

    __tablename__ = "mace1_booking_moves"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("mace1_bookings.id"), index=True)
    to_meeting_at: Mapped[datetime] = mapped_column(Timestamp)
    reason: Mapped[str] = mapped_column(String(500))
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the pathway re-booked it
    moved_at: Mapped[datetime] = mapped_column(Timestamp)


class Attendance(db.Model):
    """One agency's line in a meeting's attendance register: there, sent a briefed deputy, or not represented."""

    __tablename__ = "mace1_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "agency", name="uq_mace1_attendance_meeting_agency"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("mace1_meetings.id"))
    agency: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))  # present, deputy, absent
    attendee: Mapped[str | None] = mapped_column(String(200))
    deputy_named_by: Mapped[str | None] = mapped_column(String(200))
    deputy_briefed: Mapped[bool | None] = mapped_column()
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)


class CaseFact(db.Model):
    """An answer a form marks for oversight reports (`x-report`), kept when its step completes.

    Quarterly trends and recurring persons and locations of concern are counted here, never by reading
    workflow state.
    """

    __tablename__ = "case_facts"
    __table_args__ = (Index("ix_case_facts_kind_at", "kind", "recorded_at"),
                      Index("ix_case_facts_case", "case_id", "kind"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    area_code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))  # e.g. exploitation_type, risk_level, location_of_concern
    value: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)


class OverdueWeek(db.Model):
    """How many of an area's steps were overdue when a week ended (Sunday night, UK), kept as the week ends
    so the 12-week trend reads twelve rows an area rather than counting the history again."""

    __tablename__ = "overdue_weeks"
    area_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    week_end: Mapped[date] = mapped_column(Date, primary_key=True)  # the Monday the week ends on
    overdue: Mapped[int] = mapped_column(Integer)
