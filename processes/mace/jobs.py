"""The pathway's sweep jobs: raise due alerts (of steps and plan actions), send their email, and the weekly
upkeep of trends and meetings.

Each finds its work through an indexed column and is safe to run twice or at once (see each service).
"""

from __future__ import annotations

from sqlalchemy import select

from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.hooks import Job
from processes.engine.models import HumanTask
from processes.mace import alerts, meetings, notifications, oversight, plan_actions
from processes.mace.models import Notification


def _due_alerts(limit: int, after: int) -> list[int]:
    return list(db.session.scalars(
        select(HumanTask.id).where(HumanTask.status == "open", HumanTask.next_alert_at <= now(), HumanTask.id > after)
        .order_by(HumanTask.id).limit(limit)))


def _pending_email(limit: int, after: int) -> list[int]:
    return list(db.session.scalars(
        select(Notification.id).where(notifications.sendable(), Notification.id > after)
        .order_by(Notification.id).limit(limit)))


def _due_upkeep(_limit: int, after: int) -> list[int]:
    """One upkeep job (id 1) when a week has ended uncounted or the meetings run short of the weeks ahead."""
    return [1] if not after and (oversight.weeks_to_record() or meetings.calendar_short()) else []


def _upkeep(_: int) -> int:
    """Count the weeks that have ended for the overdue trend, and keep MACE 1 meetings generated ahead."""
    return oversight.record_weeks() + meetings.generate_ahead()


# In this order, after the engine's timers: an alert's emails go out straight after it in the same sweep.
JOBS: dict[str, Job] = {
    "alerts": Job(_due_alerts, lambda task_id: len(alerts.raise_due(task_id))),
    "action_alerts": Job(plan_actions.due_alerts, lambda action_id: len(plan_actions.raise_due(action_id))),
    "email": Job(_pending_email, lambda notification_id: int(notifications.deliver_email(notification_id))),
    "upkeep": Job(_due_upkeep, _upkeep),
}
