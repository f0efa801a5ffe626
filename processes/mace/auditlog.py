"""The audit log as an information governance officer searches it: by user, child, action and date, in pages
or as one CSV; the search and the export are themselves audited, one row per child they show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, func, or_, select

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.engine.transaction import atomic
from processes.identity.models import User
from processes.mace.models import Case
from processes.mace.policy import AUDIT_VIEW
from processes.mace.working_days import UK

EXPORT_LIMIT = 50_000  # rows in one CSV; narrow the filters for more


@dataclass(frozen=True)
class AuditFilter:
    """What to look for; each is optional. `child` is a case number or part of a child's name."""

    username: str | None = None
    child: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive, a UK calendar day


@dataclass
class Entry:
    event: AuditEvent
    username: str | None
    child_name: str | None


@dataclass
class Found:
    entries: list[Entry]
    total: int


def _uk_midnight(day: date) -> datetime:
    # In UTC, as stored: SQLite compares the text of the time.
    return datetime.combine(day, time(0), UK).astimezone(UTC)


def _where(actor: Actor, wanted: AuditFilter) -> list[ColumnElement[bool]]:
    """The actor's areas' cases, and rows about no case (sign-ins, deploys); narrowed by the filter."""
    where: list[ColumnElement[bool]] = [or_(AuditEvent.case_id.is_(None), Case.area_code.in_(actor.areas))]
    if wanted.username:
        where.append(User.username == wanted.username)
    if wanted.child:
        child = wanted.child.strip()
        where.append(AuditEvent.case_id == int(child) if child.isdigit() and int(child) < 2**31
                     else Case.child_name.icontains(child, autoescape=True))
    if wanted.action:
        where.append(AuditEvent.action == wanted.action)
    if wanted.since:
        where.append(AuditEvent.at >= _uk_midnight(wanted.since))
    if wanted.until:
        where.append(AuditEvent.at < _uk_midnight(wanted.until + timedelta(days=1)))
    return where


def _query(actor: Actor, wanted: AuditFilter) -> Select:
    return (select(AuditEvent, User.username, Case.child_name)
            .outerjoin(Case, Case.id == AuditEvent.case_id).outerjoin(User, User.id == AuditEvent.user_id)
            .where(*_where(actor, wanted)))


@atomic
def search(actor: Actor, wanted: AuditFilter, *, limit: int = 50, offset: int = 0) -> Found:
    """One page of matching rows, newest first, with how many match in all."""
    actor.require(AUDIT_VIEW, "search the audit log")
    query = _query(actor, wanted)
    total = db.session.scalar(query.with_only_columns(func.count()).order_by(None)) or 0
    entries = [Entry(*row) for row in db.session.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset))]
    audit.record_each(actor, "audit.search", (e.event.case_id for e in entries if e.event.case_id is not None))
    return Found(entries, total)


@atomic
def export(actor: Actor, wanted: AuditFilter) -> list[Entry]:
    """Every matching row (up to EXPORT_LIMIT), oldest first, for a CSV file."""
    actor.require(AUDIT_VIEW, "export the audit log")
    entries = [Entry(*row) for row in db.session.execute(
        _query(actor, wanted).order_by(AuditEvent.at, AuditEvent.id).limit(EXPORT_LIMIT))]
    audit.record_each(actor, "audit.export", (e.event.case_id for e in entries if e.event.case_id is not None))
    return entries
