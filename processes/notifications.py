"""Notification service: a user's reminders, overdue notices and escalations, and their email."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import func, select, update

from . import audit
from .clock import aware, now
from .db import db
from .errors import NotFound
from .identity import Actor
from .models import HumanTask, Notification, User
from .transaction import atomic

SUBJECTS = {
    "reminder": "Reminder: a MACE pathway step is due soon",
    "overdue": "Overdue: a MACE pathway step has passed its due date",
    "escalation": "Escalation: a MACE pathway step is still overdue",
}


@dataclass
class Notifications:
    items: list[Notification]
    unread: int


def for_user(actor: Actor, *, unread_only: bool = False, limit: int = 50, offset: int = 0) -> Notifications:
    """The actor's notifications, newest first, with how many are unread. Reads indexed tables only."""
    where = [Notification.user_id == actor.id]
    query = select(Notification).where(*where, Notification.read_at.is_(None) if unread_only else True)
    unread = db.session.scalar(select(func.count()).select_from(Notification)
                               .where(*where, Notification.read_at.is_(None))) or 0
    items = db.session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset))
    return Notifications(list(items), unread)


@atomic
def mark_read(actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read; marking it again keeps the first time."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotFound(f"No notification {notification_id}.")
    if notification.read_at is None:
        notification.read_at = now()
    return notification


def _message(notification: Notification, to: str) -> EmailMessage:
    """Ids, the step's name and its due date only: email leaves our systems, so no child's details go in it."""
    config = current_app.config
    task: HumanTask = notification.task
    message = EmailMessage()
    message["Subject"] = SUBJECTS[notification.kind]
    message["From"] = config["SMTP_FROM"]
    message["To"] = to
    due = f"{aware(task.due_at):%A %d %B %Y %H:%M} UTC" if task.due_at else "not set"
    message.set_content(
        f"{SUBJECTS[notification.kind]}.\n\n"
        f"Step: {task.name}\nCase reference: {task.case_id}\nTask reference: {task.id}\nDue: {due}\n\n"
        f"Open it in the MACE system: {config['BASE_URL']}/tasks/{task.id}\n\n"
        "This message holds no details of the child. Sign in to see the case.\n"
    )
    return message


@atomic
def deliver_email(notification_id: int) -> bool:
    """Send one pending notification by email; True if sent now.

    The row stays locked until the send is recorded, so two workers never send it twice. A failed send
    raises and leaves it pending for a retry.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE. Without a write first, a commit meeting another writer's newer
        # snapshot fails as "database is locked" after the send, and `atomic` runs this again: a second
        # email. Taking the write lock now makes any such retry happen before anything is sent.
        db.session.execute(update(Notification).where(Notification.id == notification_id)
                           .values(email_status=Notification.email_status))
    notification = db.session.scalar(select(Notification).where(Notification.id == notification_id)
                                     .with_for_update(of=Notification).execution_options(populate_existing=True))
    if notification is None or notification.email_status != "pending":
        return False
    config = current_app.config
    address = db.session.scalar(select(User.email).where(User.id == notification.user_id))
    if not address or not config["SMTP_HOST"]:
        notification.email_status = "none"
        return False
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
        smtp.send_message(_message(notification, address))
    notification.email_status, notification.emailed_at = "sent", now()
    audit.record(None, f"email.{notification.kind}", case_id=notification.case_id,
                 human_task_id=notification.human_task_id, detail=f"to user {notification.user_id}")
    return True
