"""Worklists as practitioners and managers see them: my tasks, tasks to claim and the team's, each row
with the child's name and who has it, filtered by stage, area and due state, with counts per scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select

from processes.engine import audit
from processes.engine.actors import Actor, forbidden
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.engine.permissions import TASK_REASSIGN, TASK_SEE_AREA
from processes.engine.tasks import open_task
from processes.engine.transaction import atomic
from processes.identity.models import User, UserArea, UserRole
from processes.mace.models import Case

SCOPES = ("mine", "available", "team")
DUE_STATES = ("overdue", "due_soon", "later", "none")
DUE_SOON = timedelta(days=7)


@dataclass(frozen=True)
class WorkFilter:
    """Narrows a worklist: by stage (the BPMN process a task is in), area and due state."""

    stage: str | None = None
    area: str | None = None
    due: str | None = None


@dataclass
class WorkItem:
    task: HumanTask
    child_name: str
    assignee_name: str | None


@dataclass
class Worklist:
    scope: str
    items: list[WorkItem]
    total: int
    # Per scope the actor may open: how many tasks match the filter, and how many of those are overdue.
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)


def scopes_for(actor: Actor) -> tuple[str, ...]:
    return SCOPES if actor.may(TASK_SEE_AREA) else SCOPES[:2]


def _scope_where(actor: Actor, scope: str) -> list[ColumnElement[bool]]:
    """Each scope is one plain conjunction, so each is served by one index (assignee, queue or area)."""
    if scope == "mine":
        return [HumanTask.assignee_id == actor.id]
    if scope == "available":
        return [HumanTask.assignee_id.is_(None), HumanTask.area_code.in_(actor.areas),
                HumanTask.role.in_(actor.roles)]
    if scope == "team" and actor.may(TASK_SEE_AREA):
        return [HumanTask.area_code.in_(actor.areas),
                HumanTask.assignee_id.is_(None) | (HumanTask.assignee_id != actor.id)]
    raise forbidden(TASK_SEE_AREA, "see the team's tasks")


def _filter_where(actor: Actor, wanted: WorkFilter, at: datetime) -> list[ColumnElement[bool]]:
    where = [HumanTask.status == "open"]
    if wanted.stage:
        where.append(HumanTask.process_id == wanted.stage)
    if wanted.area:
        where.append(HumanTask.area_code == wanted.area if wanted.area in actor.areas else False)
    if wanted.due == "overdue":
        where.append(HumanTask.due_at < at)
    elif wanted.due == "due_soon":
        where += [HumanTask.due_at >= at, HumanTask.due_at < at + DUE_SOON]
    elif wanted.due == "later":
        where.append(HumanTask.due_at >= at + DUE_SOON)
    elif wanted.due == "none":
        where.append(HumanTask.due_at.is_(None))
    return where


def _counts(actor: Actor, base: list[ColumnElement[bool]], at: datetime) -> dict[str, tuple[int, int]]:
    """Per scope the actor may open: how many tasks match, and how many of those are overdue."""
    counts = {}
    for name in scopes_for(actor):
        total, overdue = db.session.execute(
            select(func.count(), func.coalesce(func.sum(case((HumanTask.due_at < at, 1), else_=0)), 0))
            .select_from(HumanTask).where(*base, *_scope_where(actor, name))
        ).one()
        counts[name] = (total, overdue)
    return counts


@atomic
def first_scope_with_work(actor: Actor, wanted: WorkFilter | None = None) -> str:
    """The first scope, in the inbox's order, that holds matching work: "mine" when none does."""
    at = now()
    counts = _counts(actor, _filter_where(actor, wanted or WorkFilter(), at), at)
    return next((name for name, (total, _) in counts.items() if total), SCOPES[0])


@atomic
def worklist(actor: Actor, scope: str, wanted: WorkFilter | None = None, *, limit: int = 25,
             offset: int = 0) -> Worklist:
    """One page of a scope of the actor's open tasks, overdue first then soonest due, with counts.

    mine: assigned to me; available: unassigned, for my roles in my areas (to claim); team (task.see_area):
    everything open in my areas that is not mine. Reads the indexed human_tasks table only, and
    records that the listed children's cases were seen.
    """
    wanted, at = wanted or WorkFilter(), now()
    base = _filter_where(actor, wanted, at)
    where = base + _scope_where(actor, scope)
    rows = db.session.execute(
        select(HumanTask, Case.child_name, User.display_name)
        .join(Case, Case.id == HumanTask.case_id)
        .outerjoin(User, User.id == HumanTask.assignee_id)
        .where(*where).order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id).limit(limit).offset(offset)
    ).all()
    counts = _counts(actor, base, at)
    audit.record_each(actor, "case.list", {row.HumanTask.case_id for row in rows})
    return Worklist(scope, [WorkItem(row.HumanTask, row.child_name, row.display_name) for row in rows],
                    counts[scope][0], counts)


def assignees_for(actor: Actor, task_id: int) -> list[User]:
    """Active users someone with task.reassign can hand this task to: those holding its role in its area."""
    task = open_task(actor, task_id)
    actor.require(TASK_REASSIGN, "reassign tasks")
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id).join(UserArea, UserArea.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role == task.role, UserArea.area_code == task.area_code)
        .order_by(User.display_name)
    ))
