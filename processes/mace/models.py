"""The pathway's own tables: cases, drafts, plan actions, notifications, MACE 1 meetings and bookings, facts and
weekly counts."""


from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processes.engine.db import Timestamp, db
from processes.engine.models import HumanTask


class Case(db.Model):
    """A child whose pathway the partnership runs; the area decides who may see it."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    child_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Who owns the case once the hub allocates it, and their team then: the worker's lane's steps go to them.
    allocated_worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))


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


class PlanAction(db.Model):
    """One action of a child's plan (the RIC plan, or added at MACE 1): the agency that owns it, when it is due
    and whether it is done, kept when its step completes and chased like a step (reminder, overdue, escalation)."""

    __tablename__ = "plan_actions"
    __table_args__ = (
        Index("ix_plan_actions_case", "case_id", "id"),
        Index("ix_plan_actions_alerts", "status", "next_alert_at"),
        Index("ix_plan_actions_worklist", "status", "area_code", "agency", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    area_code: Mapped[str] = mapped_column(String(40))
    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id"))  # the step that agreed it
    source_step: Mapped[str] = mapped_column(String(255))  # that step's element id
    agency: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    due_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(Timestamp)  # the end of due_on on UK clocks: overdue from then
    status: Mapped[str] = mapped_column(String(10))  # open, done or dropped
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When each alert falls due, worked out from the pathway's timescales as the action was agreed.
    remind_at: Mapped[datetime | None] = mapped_column(Timestamp)
    escalate_at: Mapped[datetime] = mapped_column(Timestamp)
    next_alert_at: Mapped[datetime | None] = mapped_column(Timestamp)
    alerts_raised: Mapped[str | None] = mapped_column(String(40))


class Notification(db.Model):
    """A reminder, overdue notice or escalation about a step or a plan action, for one user: in the app, and
    by email.

    Unique per step (or action), kind and user, so each is raised once however often the sweep runs.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("human_task_id", "kind", "user_id", name="uq_notifications_task_kind_user"),
        UniqueConstraint("plan_action_id", "kind", "user_id", name="uq_notifications_action_kind_user"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_email", "email_status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # What it is about: a step, or else a plan action (exactly one of the two).
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"))
    plan_action_id: Mapped[int | None] = mapped_column(ForeignKey("plan_actions.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    read_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # pending (to send), sending (claimed by a worker), sent, failed (refused for good), or none (no address,
    # or email is off); emailed_at is when it was claimed, then when it was sent or refused
    email_status: Mapped[str] = mapped_column(String(10))
    emailed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    task: Mapped[HumanTask | None] = relationship(lazy="joined")
    plan_action: Mapped[PlanAction | None] = relationship(lazy="joined")

    @property
    def subject(self) -> str:
        """What it is about, as its title: the step's name, or the plan action's."""
        return self.task.name if self.task is not None else "Plan action"

    @property
    def due_at(self) -> datetime | None:
        return self.task.due_at if self.task is not None else self.plan_action.due_at

    @property
    def link(self) -> str:
        """The page to open it on, as a path: the step, or the case's plan actions."""
        if self.task is not None:
            return f"/tasks/{self.task.id}"
        return f"/cases/{self.case_id}#plan-actions"


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
    value: Mapped[str] = mapped_column(String(4000))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)


class OverdueWeek(db.Model):
    """How many of an area's steps were overdue when a week ended (Sunday night, UK), kept as the week ends
    so the 12-week trend reads twelve rows an area rather than counting the history again."""

    __tablename__ = "overdue_weeks"
    area_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    week_end: Mapped[date] = mapped_column(Date, primary_key=True)  # the Monday the week ends on
    overdue: Mapped[int] = mapped_column(Integer)


class RetentionReview(db.Model):
    """A closed case's place on the retention schedule, and what became of it: kept until `due_on`, listed for
    review once due, proposed for erasure by one administrator, erased on a second's approval.

    Once erased, the row is the record of the erasure: who proposed it, who approved it and when, and no name.
    """

    __tablename__ = "retention_reviews"
    __table_args__ = (Index("ix_retention_reviews_status_due", "status", "due_on"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(40))
    closed_at: Mapped[datetime] = mapped_column(Timestamp)
    outcome: Mapped[str | None] = mapped_column(String(40))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))  # kept, due, proposed, erased
    listed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    erased_at: Mapped[datetime | None] = mapped_column(Timestamp)
