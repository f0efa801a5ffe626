"""Task service: a user's inbox, and claiming, unclaiming and reassigning open tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, update

from processes.engine import audit, forms
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from processes.engine.models import HumanTask, ProcessInstance
from processes.engine.transaction import atomic
from processes.identity.access import can_see_task, task_visibility
from processes.identity.models import User, UserArea, UserRole
from processes.identity.permissions import TASK_REASSIGN, TASK_SEE_AREA
from processes.identity.users import Actor, forbidden
from processes.mace.models import Case


@dataclass
class TaskView:
    """A task together with its form's JSON Schema and UI hints; reads through to the task's own fields."""

    task: HumanTask
    form_schema: dict[str, Any]
    ui_schema: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


@dataclass
class Inbox:
    tasks: list[HumanTask]
    total: int


def inbox(actor: Actor, *, limit: int = 50, offset: int = 0, mine_only: bool = False) -> Inbox:
    """Open tasks the actor can act on, overdue and soonest due first. Reads the indexed table only."""
    where = [HumanTask.status == "open",
             HumanTask.assignee_id == actor.id if mine_only else task_visibility(actor)]
    query = (select(HumanTask).where(*where)
             .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id).limit(limit).offset(offset))
    total = db.session.scalar(select(func.count()).select_from(HumanTask).where(*where)) or 0
    return Inbox(list(db.session.scalars(query)), total)


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
    counts = {}
    for name in scopes_for(actor):
        total, overdue = db.session.execute(
            select(func.count(), func.coalesce(func.sum(case((HumanTask.due_at < at, 1), else_=0)), 0))
            .select_from(HumanTask).where(*base, *_scope_where(actor, name))
        ).one()
        counts[name] = (total, overdue)
    audit.record_each(actor, "case.list", {row.HumanTask.case_id for row in rows})
    return Worklist(scope, [WorkItem(row.HumanTask, row.child_name, row.display_name) for row in rows],
                    counts[scope][0], counts)


def assignees_for(actor: Actor, task_id: int) -> list[User]:
    """Active users someone with task.reassign can hand this task to: those holding its role in its area."""
    task = _open_task(actor, task_id)
    actor.require(TASK_REASSIGN, "reassign tasks")
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id).join(UserArea, UserArea.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role == task.role, UserArea.area_code == task.area_code)
        .order_by(User.display_name)
    ))


def _visible_task(actor: Actor, task_id: int) -> HumanTask:
    task = db.session.get(HumanTask, task_id)
    if task is None or not can_see_task(actor, task):
        raise NotFound(f"No task {task_id}.")
    return task


def _open_task(actor: Actor, task_id: int) -> HumanTask:
    task = _visible_task(actor, task_id)
    if task.status != "open":
        raise Conflict(f"Task {task_id} is already {task.status}; it can no longer be claimed or reassigned.")
    return task


@atomic
def get_task(actor: Actor, task_id: int) -> TaskView:
    """A task with its form's JSON Schema and UI hints; the read is audited."""
    task = _visible_task(actor, task_id)
    definition = db.session.get(ProcessInstance, task.instance_id).definition
    audit.record(actor, "task.view", case_id=task.case_id, instance_id=task.instance_id, human_task_id=task.id)
    return TaskView(task, forms.schema_for(definition, task.form), forms.ui_schema_for(definition, task.form))


def check_answers(actor: Actor, task_id: int, data: dict[str, Any]) -> None:
    """Validate answers against the task's form without saving anything: InvalidInput as completing would."""
    task = _visible_task(actor, task_id)
    forms.validate(db.session.get(ProcessInstance, task.instance_id).definition, task.form, data)


def _assign(actor: Actor, task: HumanTask, new_assignee: int | None, expected: int | None, action: str) -> None:
    # A conditional update makes two simultaneous claims safe: only one finds the expected assignee.
    result = db.session.execute(
        update(HumanTask).where(HumanTask.id == task.id, HumanTask.status == "open",
                                HumanTask.assignee_id.is_(None) if expected is None
                                else HumanTask.assignee_id == expected)
        .values(assignee_id=new_assignee).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(f"Task {task.id} changed hands or was completed meanwhile; reload it.")
    db.session.refresh(task)
    audit.record(actor, action, case_id=task.case_id, instance_id=task.instance_id, human_task_id=task.id,
                 detail=str(new_assignee) if new_assignee else None)


@atomic
def claim(actor: Actor, task_id: int) -> HumanTask:
    task = _open_task(actor, task_id)
    if task.role not in actor.roles:
        raise Forbidden(f"Task {task_id} is for the role {task.role}.")
    if task.assignee_id == actor.id:
        return task
    _assign(actor, task, actor.id, None, "task.claim")
    return task


@atomic
def unclaim(actor: Actor, task_id: int) -> HumanTask:
    task = _open_task(actor, task_id)
    if task.assignee_id != actor.id and not actor.may(TASK_REASSIGN):
        raise Forbidden(f"Task {task_id} is not assigned to you.")
    _assign(actor, task, None, task.assignee_id, "task.unclaim")
    return task


@atomic
def reassign(actor: Actor, task_id: int, username: str) -> HumanTask:
    """Someone with task.reassign hands an open task to another user who holds its role in its area."""
    task = _open_task(actor, task_id)
    actor.require(TASK_REASSIGN, "reassign tasks")
    user = db.session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
    if user is None:
        raise InvalidInput("The task was not reassigned.", {"username": [f"No active user '{username}'."]})
    if task.role not in {r.role for r in user.roles} or task.area_code not in {a.area_code for a in user.areas}:
        raise InvalidInput("The task was not reassigned.",
                           {"username": [f"'{username}' does not hold the role {task.role} in this area."]})
    _assign(actor, task, user.id, task.assignee_id, "task.reassign")
    return task


def overdue_count(actor: Actor) -> int:
    return db.session.scalar(
        select(func.count()).select_from(HumanTask)
        .where(HumanTask.status == "open", HumanTask.due_at < now(), task_visibility(actor))
    ) or 0
