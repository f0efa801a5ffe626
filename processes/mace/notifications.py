"""Notification service: a user's reminders, overdue notices and escalations, and their email."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.errors import NotFound
from processes.engine.transaction import atomic
from processes.identity.models import User
from processes.mace import settings
from processes.mace.models import Case, Notification
from processes.mace.working_days import UK

SMTP_TIMEOUT = 20  # seconds for each exchange with the relay; a job that waits longer is retried

SUBJECTS = {
    "reminder": "Reminder: a MACE pathway step is due soon",
    "overdue": "Overdue: a MACE pathway step has passed its due date",
    "escalation": "Escalation: a MACE pathway step is still overdue",
}


@dataclass
class Notifications:
    items: list[Notification]
    unread: int
    # case id -> child's name, for the cases of the actor's areas only (one who has left an area sees the id alone)
    child_names: dict[int, str] = field(default_factory=dict)


@atomic
def for_user(actor: Actor, *, unread_only: bool = False, limit: int = 50, offset: int = 0) -> Notifications:
    """The actor's notifications, newest first, with how many are unread. Reads indexed tables only; the
    children they are about are audited as shown."""
    query = select(Notification).where(Notification.user_id == actor.id,
                                       Notification.read_at.is_(None) if unread_only else True)
    unread = unread_count(actor.id)
    items = list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset)))
    names = {case_id: name for case_id, name in db.session.execute(select(Case.id, Case.child_name).where(
        Case.id.in_({n.case_id for n in items}), Case.area_code.in_(actor.areas)))}
    audit.record_each(actor, "notification.list", (n.case_id for n in items))
    return Notifications(items, unread, names)


@atomic
def mark_read(actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read; marking it again keeps the first time."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotFound(f"No notification {notification_id}.")
    if notification.read_at is None:
        notification.read_at = now()
    return notification


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread, for the header of every page: one COUNT through the
    (user_id, read_at) index. No child is shown, so nothing to audit."""
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


@atomic
def mark_task_read(actor: Actor, task_id: int) -> None:
    """The actor has opened this step: their notifications about it are read."""
    db.session.execute(update(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None), Notification.human_task_id == task_id,
    ).values(read_at=now()))


@atomic
def mark_all_read(actor: Actor) -> int:
    """Mark every unread notification of the actor read; returns how many were."""
    return db.session.execute(update(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None)).values(read_at=now())).rowcount


def _message(notification: Notification, to: str) -> EmailMessage:
    """Ids, the step's name (or "Plan action") and its due date only: email leaves our systems, so no child's
    details go in it, nor a plan action's words."""
    config = settings.current()
    message = EmailMessage()
    subject = SUBJECTS[notification.kind]
    if notification.task is None:
        subject = subject.replace("pathway step", "plan action")
    message["Subject"] = subject
    message["From"] = config.smtp.sender
    message["To"] = to
    due_at = notification.due_at
    due = f"{aware(due_at).astimezone(UK):%A %d %B %Y %H:%M %Z}" if due_at else "not set"
    reference = (f"Task reference: {notification.human_task_id}" if notification.task is not None
                 else f"Plan action reference: {notification.plan_action_id}")
    where = f": {config.base_url}{notification.link}" if config.base_url else f" ({reference.lower()})"
    message.set_content(
        f"{subject}.\n\n"
        f"About: {notification.subject}\nCase reference: {notification.case_id}\n{reference}\nDue: {due}\n\n"
        f"Open it in the MACE system{where}\n\n"
        "This message holds no details of the child. Sign in to see the case.\n"
    )
    return message


def claim_seconds() -> int:
    """How long a send may take before its claim counts as lost with its worker: never less than a slow
    relay could take over a whole exchange, so a live but slow worker is not raced by another."""
    return max(settings.current().job_visibility_seconds, 10 * SMTP_TIMEOUT)


def sendable() -> ColumnElement[bool]:
    """Notifications waiting for their email: pending, or claimed by a worker that has since died."""
    stale = now() - timedelta(seconds=claim_seconds())
    return or_(Notification.email_status == "pending",
               and_(Notification.email_status == "sending", Notification.emailed_at < stale))


@dataclass(frozen=True)
class Claim:
    message: EmailMessage
    claimed_at: datetime


@atomic
def _claim(notification_id: int) -> Claim | None:
    """Mark the notification `sending` and build its email; None if there is nothing to send.

    Committed before the relay is contacted, so no database lock is held while it answers, and a second
    worker finds the claim and sends nothing.
    """
    notification = db.session.scalar(select(Notification).where(Notification.id == notification_id, sendable())
                                     .with_for_update(of=Notification).execution_options(populate_existing=True))
    if notification is None:
        return None
    address = db.session.scalar(select(User.email).where(User.id == notification.user_id, User.is_active.is_(True)))
    if not address or not settings.current().smtp.host:
        notification.email_status = "none"
        return None
    notification.email_status, notification.emailed_at = "sending", now()
    return Claim(_message(notification, address), notification.emailed_at)


@atomic
def _record(notification_id: int, claim: Claim, status: str) -> None:
    """Record how the send went, only if this claim still holds: had it gone stale and been taken over,
    the other worker's outcome stands."""
    recorded = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.email_status == "sending",
               Notification.emailed_at == claim.claimed_at)
        .values(email_status=status, emailed_at=now())
    ).rowcount
    if recorded and status != "pending":
        notification = db.session.get(Notification, notification_id)
        audit.record(None, f"email.{notification.kind}" if status == "sent" else "email.failed",
                     case_id=notification.case_id, human_task_id=notification.human_task_id,
                     detail=f"to user {notification.user_id}")


def _permanent(error: smtplib.SMTPException) -> bool:
    """The relay refused this message for good (5xx for its recipient or content): trying again cannot
    help. A refused log-in or sender is a set-up fault to fix, so those emails wait and retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def _send(message: EmailMessage) -> None:
    config = settings.current().smtp
    smtp = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT)
    try:
        if config.starttls:
            # Verified against the system's certificate authorities: the relay gets a password and alerts.
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password or "")
        smtp.send_message(message)
    finally:
        # Once the relay has accepted the message, a failed goodbye must not make it look unsent.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def deliver_email(notification_id: int) -> bool:
    """Send one notification's email; True if sent now.

    A refusal for good marks it `failed`; any other failure puts it back to `pending` and raises, so
    the job is retried. A worker that dies mid-send leaves it `sending` until the claim goes stale.
    """
    claim = _claim(notification_id)
    if claim is None:
        return False
    try:
        _send(claim.message)
    except smtplib.SMTPException as error:
        permanent = _permanent(error)
        _record(notification_id, claim, "failed" if permanent else "pending")
        if permanent:
            return False
        raise
    except Exception:
        _record(notification_id, claim, "pending")
        raise
    _record(notification_id, claim, "sent")
    return True
