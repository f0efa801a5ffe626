"""Notifications page: the user's reminders, overdue notices and escalations, and the header's unread count."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from processes.mace import notifications

from .auth import actor

bp = Blueprint("notifications", __name__)
SHOWN = 50  # the newest; older ones are read long since, or marked so with the rest


@bp.app_context_processor
def _unread() -> dict[str, Callable[[], int]]:
    """`unread_notifications()` for the header: a function, so a page without the header runs no query."""
    return {"unread_notifications": lambda: notifications.unread_count(current_user.actor.id)
            if current_user.is_authenticated else 0}


@bp.get("/notifications")
def notification_list() -> ResponseReturnValue:
    found = notifications.for_user(actor(), limit=SHOWN)
    return render_template("notifications/list.html", found=found, shown=SHOWN)


@bp.post("/notifications/read")
def mark_all_read() -> ResponseReturnValue:
    count = notifications.mark_all_read(actor())
    flash(f"{count} notification{'' if count == 1 else 's'} marked as read.", "success")
    return redirect(url_for("web.notifications.notification_list"))
