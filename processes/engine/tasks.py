"""Task service: the tasks an actor may act on, a task with its form, and claiming, unclaiming and reassigning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from processes.engine import audit, forms
from processes.engine.access import can_see_task, is_for, task_visibility
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from processes.engine.hooks import HOOKS
from processes.engine.models import HumanTask, ProcessInstance
from processes.engine.permissions import TASK_REASSIGN
from processes.engine.transaction import atomic


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


@atomic
def inbox(actor: Actor, *, limit: int = 50, offset: int = 0, mine_only: bool = False) -> Inbox:
    """Open tasks the actor can act on, overdue and soonest due first. Reads the indexed table only, and
    records that the listed children's cases were seen."""
    where = [HumanTask.status == "open",
             HumanTask.assignee_id == actor.id if mine_only else task_visibility(actor)]
    query = (select(HumanTask).where(*where)
             .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id).limit(limit).offset(offset))
    total = db.session.scalar(select(func.count()).select_from(HumanTask).where(*where)) or 0
    found = list(db.session.scalars(query))
    audit.record_each(actor, "case.list", (t.case_id for t in found), detail="tasks API")
    return Inbox(found, total)


def _visible_task(actor: Actor, task_id: int) -> HumanTask:
    task = db.session.get(HumanTask, task_id)
    if task is None or not can_see_task(actor, task):
        if task is not None:
            audit.record_denied(actor, "task.denied", case_id=task.case_id, detail=f"task {task_id}")
        raise NotFound(f"No task {task_id}.")
    return task


def open_task(actor: Actor, task_id: int) -> HumanTask:
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
    return TaskView(task, forms.with_options(forms.schema_for(definition, task.form), task.area_code),
                    forms.ui_schema_for(definition, task.form))


def check_answers(actor: Actor, task_id: int, data: dict[str, Any]) -> None:
    """Validate answers against the task's form without saving anything: InvalidInput as completing would."""
    task = _visible_task(actor, task_id)
    forms.validate(db.session.get(ProcessInstance, task.instance_id).definition, task.form, data, task.area_code)


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
    task = open_task(actor, task_id)
    if not is_for(actor, task):
        raise Forbidden(f"Task {task_id} is for the role {task.role}" +
                        (f" in the group {task.group_code}." if task.group_code else "."),
                        (task.role,), f"act on task {task_id}")
    if task.assignee_id == actor.id:
        return task
    _assign(actor, task, actor.id, None, "task.claim")
    return task


@atomic
def unclaim(actor: Actor, task_id: int) -> HumanTask:
    task = open_task(actor, task_id)
    if task.assignee_id != actor.id and not actor.may(TASK_REASSIGN):
        raise Forbidden(f"Task {task_id} is not assigned to you.")
    _assign(actor, task, None, task.assignee_id, "task.unclaim")
    return task


@atomic
def reassign(actor: Actor, task_id: int, username: str) -> HumanTask:
    """Someone with task.reassign hands an open task to another user who holds its role in its area."""
    task = open_task(actor, task_id)
    actor.require(TASK_REASSIGN, "reassign tasks")
    if HOOKS.actors is None:
        raise RuntimeError("No actor directory is registered: install a pathway's hooks first.")
    assignee = HOOKS.actors.by_username(username)
    # One answer whether the user is unknown, inactive, in another area or of another role: a manager learns
    # nothing of who exists beyond their own areas.
    if assignee is None or task.area_code not in assignee.areas or not is_for(assignee, task):
        raise InvalidInput("The task was not reassigned.",
                           {"username": [f"No active user '{username}' holds the role {task.role} in this area."]})
    _assign(actor, task, assignee.id, task.assignee_id, "task.reassign")
    return task


@atomic
def release_assigned(by: Actor | None, user_id: int) -> int:
    """Hand every open task assigned to this user back to its role's pool (they are leaving); each audited."""
    released = list(db.session.scalars(select(HumanTask).where(HumanTask.assignee_id == user_id,
                                                               HumanTask.status == "open").with_for_update()))
    for task in released:
        task.assignee_id = None
        audit.record(by, "task.unclaim", case_id=task.case_id, instance_id=task.instance_id, human_task_id=task.id,
                     detail=f"user {user_id} deactivated")
    return len(released)


def assigned_count(user_id: int) -> int:
    """How many open tasks the user holds: the deactivation page says they go back to their pools."""
    return db.session.scalar(select(func.count()).select_from(HumanTask)
                             .where(HumanTask.assignee_id == user_id, HumanTask.status == "open"))


def overdue_count(actor: Actor) -> int:
    return db.session.scalar(
        select(func.count()).select_from(HumanTask)
        .where(HumanTask.status == "open", HumanTask.due_at < now(), task_visibility(actor))
    ) or 0
