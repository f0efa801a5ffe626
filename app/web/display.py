"""How the pages word dates, due states, audit actions and recorded answers (UK time, GOV.UK style)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask

from processes.engine.clock import aware, now
from processes.engine.errors import Conflict, Forbidden, ServiceError
from processes.mace.roles import ROLES, one_holder
from processes.mace.working_days import UK, days_overdue

from . import formkit

ACTIONS = {
    "case.create": "Case created",
    "instance.start": "Pathway started",
    "instance.cancel": "Pathway stopped",
    "task.open": "Step opened",
    "task.complete": "Step completed",
    "task.claim": "Step claimed",
    "task.unclaim": "Step handed back",
    "task.reassign": "Step reassigned",
    "task.draft.save": "Draft saved",
    "task.reminder": "Reminder sent",
    "task.overdue": "Overdue notice sent",
    "task.escalation": "Escalated to the MACE chairs",
    "timer.fire": "Timer passed",
    "message.deliver": "Event recorded",
    "email.failed": "An alert email could not be delivered",
    "incident.retry": "Failed step retried",
    "booking.move": "Moved to a later MACE 1 meeting",
    "instance.variables": "Pathway details changed",
    "case.view": "Case page viewed",
    "case.list": "Shown in a task list",
    "case.history.view": "History read through the API",
    "task.view": "Step viewed",
    "instance.view": "Pathway state read through the API",
    "dashboard.view": "Shown on the oversight dashboard",
    "dashboard.export": "Shown in an oversight export",
    "meeting.view": "Shown on a MACE 1 agenda",
    "meeting.item.view": "Opened on a MACE 1 agenda",
    "meeting.summary.view": "Shown in a MACE 1 outcome summary",
    "audit.search": "Shown in an audit search",
    "audit.export": "Shown in an audit export",
    "notification.list": "Named in a list of alerts",
    "incident.list": "Named in the failed background steps",
    "case.denied": "Refused: asked for from outside the area",
    "task.denied": "Refused: a step asked for by someone who may not see it",
    "instance.denied": "Refused: pathway state asked for from outside the area",
    "meeting.denied": "Refused: a meeting asked for from outside its area",
    "user.sign_in": "Signed in",
    "user.sign_in_failed": "Sign-in refused",
    "user.sign_out": "Signed out",
    "definition.deploy": "Pathway version deployed",
    "meetings.view": "MACE 1 meetings listed",
    "meeting.register.view": "Attendance register viewed",
    "meeting.attendance": "Attendance recorded",
    "meeting.invitation": "Meeting invitation downloaded",
    "bottlenecks.view": "Bottlenecks viewed",
    "trends.view": "Quarterly trends viewed",
    "incident.open": "A background step failed",
    "incident.resolve": "Failed step resolved",
    "user.add": "User added",
    "user.roles": "User's roles changed",
    "user.areas": "User's areas changed",
    "user.team_agency": "User's agency and team changed",
    "user.password_reset": "User's password reset",
    "user.password_change": "Password chosen after a reset",
    "user.sessions_ended": "User's sessions ended",
    "user.deactivate": "User deactivated",
    "area.add": "Area added",
    "area.rename": "Area renamed",
}


def uk_date(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = aware(value).astimezone(UK).date()
    return f"{value.day} {value:%B %Y}"


def uk_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = aware(value).astimezone(UK)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def uk_time(value: datetime | None) -> str:
    """A UK clock time, GOV.UK style: 10am, 10:15am."""
    if value is None:
        return ""
    local = aware(value).astimezone(UK)
    hour = local.hour % 12 or 12
    return f"{hour}{'' if local.minute == 0 else f':{local:%M}'}{'am' if local.hour < 12 else 'pm'}"


def refusal(error: ServiceError) -> str:
    """A service's refusal for a page: who may do it by their roles' names, and when in UK time, not codes."""
    if isinstance(error, Forbidden) and error.roles and error.what:
        holders = [one_holder(role) for role in error.roles]
        names = holders[0] if len(holders) == 1 else f"{', '.join(holders[:-1])} or {holders[-1]}"
        return f"Only {names} can {error.what}."
    if isinstance(error, Conflict) and error.at:
        return error.message.replace(error.at.isoformat(), uk_datetime(error.at))
    return error.message


def due_state(due_at: datetime | None, at: datetime | None = None, *, dated: bool = True) -> tuple[str, str]:
    """(words, tag colour) for a step's due time; overdue says by how many days, not by colour alone.

    A page that prints the due date beside the tag asks with dated=False, so the date is not said twice.
    """
    if due_at is None:
        return "No due date", "govuk-tag--grey"
    at = at or now()
    due = aware(due_at)
    today = at.astimezone(UK).date()
    due_day = due.astimezone(UK).date()
    if due < at:
        days = days_overdue(due, at)
        if days < 1:
            return "Overdue today", "govuk-tag--red"
        return f"Overdue by {days} day{'s' if days != 1 else ''}", "govuk-tag--red"
    if due_day == today:
        return "Due today", "govuk-tag--orange"
    if due - at < timedelta(days=7):
        days = (due_day - today).days
        return f"Due in {days} day{'s' if days != 1 else ''}", "govuk-tag--yellow"
    return (f"Due {uk_date(due)}" if dated else "Due later"), "govuk-tag--blue"


def days(value: float | None) -> str:
    """A length of time in days, to one decimal place: "4.5 days", "1 day"."""
    if value is None:
        return "No target"
    rounded = round(value, 1)
    text = f"{rounded:.1f}".removesuffix(".0")
    return f"{text} day{'' if text == '1' else 's'}"


def answer_kind(schema: dict[str, Any]) -> str:
    kind = formkit.kind_of(schema, {})
    if kind == "rows":
        return "table" if formkit.item_schema(schema).get("type") == "object" else "list"
    return kind


def answer_text(schema: dict[str, Any], value: Any) -> str:
    """One recorded value in words: a choice by its label, yes/no, a date in UK style."""
    if value is None:
        return ""
    kind = formkit.kind_of(schema, {})
    if kind == "yesno":
        return "Yes" if value else "No"
    if kind == "date":
        return uk_date(value)
    if kind in ("radios", "select"):
        return formkit.option_label(schema, value)
    if kind == "checkboxes":
        item = formkit.item_schema(schema)
        return ", ".join(formkit.option_label(item, v) for v in value)
    return str(value)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(uk_date=uk_date, uk_datetime=uk_datetime, uk_time=uk_time)
    app.jinja_env.globals.update(due_state=due_state, answer_kind=answer_kind, answer_text=answer_text,
                                 days=days,
                                 action_label=lambda action: ACTIONS.get(action, formkit.humanise(action)),
                                 item_schema=formkit.item_schema, ordered_fields=formkit.ordered,
                                 option_label=formkit.option_label,
                                 role_name=lambda role: ROLES.get(role, formkit.humanise(role)),
                                 one_holder=one_holder)
