"""Reminders before a step is due, overdue notices once it passes, and escalation to the chairs after that
(plan actions are chased the same way, by processes/mace/plan_actions.py).

Each step's next alert time is kept on its row (`human_tasks.next_alert_at`), so a sweep finds the
steps that need one through an index alone, and each alert is raised once per step and person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from processes.engine import audit
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.engine.transaction import atomic
from processes.identity.models import Team, User, UserArea, UserRole
from processes.mace import settings
from processes.mace.models import Notification
from processes.mace.policy import ALERT_ESCALATION, ALERT_OVERDUE, roles_with
from processes.mace.working_days import add_working_days

KINDS = ("reminder", "overdue", "escalation")


def _schedule(due_at: datetime, opened_at: datetime, at: datetime, escalates: bool) -> dict[str, datetime]:
    """When each kind of alert falls due for a step. A reminder is only worth sending while the step is
    not yet due, and not if its time had already passed when the step opened. Only steps the diagram
    marks `escalate` (plan actions, MACE steps) go to the chairs."""
    config = settings.current()
    times = {"overdue": due_at}
    if escalates:
        times["escalation"] = add_working_days(due_at, config.escalation_working_days)
    if config.reminder_working_days:
        reminder = add_working_days(due_at, -config.reminder_working_days)
        if opened_at < reminder and at < due_at:
            times["reminder"] = reminder
    return times


def _next(times: dict[str, datetime], raised: set[str]) -> datetime | None:
    pending = [when for kind, when in times.items() if kind not in raised]
    return min(pending) if pending else None


def next_alert_at(due_at: datetime | None, opened_at: datetime, at: datetime, escalates: bool,
                  alerts_raised: str | None) -> datetime | None:
    """When an open step (just opened, or whose due time has just changed) needs its next alert; kinds already
    raised stay raised. None: never."""
    raised = set(filter(None, (alerts_raised or "").split(",")))
    return _next(_schedule(aware(due_at), opened_at, at, escalates), raised) if due_at else None


def _holders(roles: list[str], area: str) -> list[int]:
    """Active people of the area holding any of the roles, each once."""
    return list(db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id).join(UserArea, UserArea.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role.in_(roles), UserArea.area_code == area)
        .distinct().order_by(User.id)
    ))


def escalation_holders(area: str) -> list[int]:
    """Who escalations of the area go to: the MACE chairs, as the policy says."""
    return _holders(roles_with(ALERT_ESCALATION), area)


def notify(recipients: list[int], kind: str, at: datetime, *, case_id: int, human_task_id: int | None = None,
           plan_action_id: int | None = None) -> None:
    """One notification per person about a step or a plan action, emailed to those with an address when email
    is on."""
    email_on = bool(settings.current().smtp.host)
    with_email = set(db.session.scalars(select(User.id).where(User.id.in_(recipients), User.email.is_not(None))))
    for user_id in recipients:
        db.session.add(Notification(
            user_id=user_id, human_task_id=human_task_id, plan_action_id=plan_action_id, case_id=case_id,
            kind=kind, created_at=at, email_status="pending" if email_on and user_id in with_email else "none",
        ))


def _recipients(task: HumanTask, kind: str) -> list[int]:
    if kind == "escalation":
        return escalation_holders(task.area_code)
    assignee_active = task.assignee_id is not None and db.session.scalar(
        select(User.is_active).where(User.id == task.assignee_id))
    # A step left with someone who has gone is everyone's in the role again, as far as alerts go.
    people = [task.assignee_id] if assignee_active else _holders([task.role], task.area_code)
    if kind == "overdue":
        people += _managers(task.assignee_id if assignee_active else None, task.area_code)
    return list(dict.fromkeys(people))


def _managers(worker_id: int | None, area: str) -> list[int]:
    """Who hears of a step overdue: its worker's own team manager, or, when the worker has no team with an active
    manager, everyone of the area told of overdue steps."""
    manager = db.session.scalar(
        select(Team.manager_id).join(User, User.team_id == Team.id)
        .where(User.id == worker_id, Team.manager_id.in_(select(User.id).where(User.is_active.is_(True))))
    ) if worker_id is not None else None
    return [manager] if manager is not None else _holders(roles_with(ALERT_OVERDUE), area)


@atomic
def raise_due(task_id: int) -> list[str]:
    """Raise the alerts now due for one step; returns their kinds. Safe to run twice or at once."""
    task = db.session.scalar(select(HumanTask).where(HumanTask.id == task_id).with_for_update()
                             .execution_options(populate_existing=True))
    at = now()
    if task is None or task.status != "open" or task.next_alert_at is None or aware(task.next_alert_at) > at:
        return []
    due_at, opened_at = aware(task.due_at), aware(task.created_at)
    raised = set(filter(None, (task.alerts_raised or "").split(",")))
    times = _schedule(due_at, opened_at, at, task.escalates)
    due = [kind for kind in KINDS if kind in times and kind not in raised and times[kind] <= at]
    for kind in due:
        recipients = _recipients(task, kind)
        notify(recipients, kind, at, case_id=task.case_id, human_task_id=task.id)
        audit.record(None, f"task.{kind}", case_id=task.case_id, instance_id=task.instance_id,
                     human_task_id=task.id, detail=f"{len(recipients)} recipient(s)")
    # Kept on the step, not read from notifications: a kind with no one to tell must not repeat either.
    task.alerts_raised = ",".join(kind for kind in KINDS if kind in raised or kind in due)
    task.next_alert_at = _next(times, raised | set(due))
    return due
