"""Drafts: a user's unfinished answers to an open task, kept to finish later and removed once it is done."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from processes.engine import audit, write_queue
from processes.engine.access import can_see_task
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import Conflict, InvalidInput, NotFound
from processes.engine.hooks import StepCompleted
from processes.engine.models import HumanTask
from processes.engine.transaction import atomic
from processes.mace.models import TaskDraft

MAX_DRAFT_BYTES = 200_000
# Built once: it runs with every completion, and a statement object keeps its compiled SQL.
_DROP = delete(TaskDraft.__table__).where(TaskDraft.__table__.c.human_task_id == bindparam("task_id"))


def _task_to_draft(actor: Actor, task_id: int) -> HumanTask:
    task = db.session.get(HumanTask, task_id)
    if task is None or not can_see_task(actor, task):
        raise NotFound(f"No task {task_id}.")
    if task.status != "open":
        raise Conflict(f"Task {task_id} is already {task.status}; the draft was not saved.")
    return task


def get(actor: Actor, task_id: int) -> dict[str, Any] | None:
    """The actor's saved answers to the task, if it is still open and they saved any."""
    return db.session.scalar(
        select(TaskDraft.data).join(HumanTask, HumanTask.id == TaskDraft.human_task_id)
        .where(TaskDraft.human_task_id == task_id, TaskDraft.user_id == actor.id, HumanTask.status == "open")
    )


@atomic
def save(actor: Actor, task_id: int, data: dict[str, Any]) -> None:
    """Keep the actor's answers so far (unvalidated: a draft may be half done). Audited without its contents."""
    task = _task_to_draft(actor, task_id)
    if len(json.dumps(data)) > MAX_DRAFT_BYTES:
        raise InvalidInput("The draft was not saved.", {"data": ["The draft is too long to save."]})
    # Marked on the task row only while it is still open: a completion holding the row commits first, and
    # this draft is then refused rather than left behind it.
    marked = db.session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.status == "open")
                                .values(has_draft=True).execution_options(synchronize_session=False)).rowcount
    if marked != 1:
        raise Conflict(f"Task {task_id} was completed meanwhile; the draft was not saved.")
    draft = db.session.scalar(select(TaskDraft).where(TaskDraft.human_task_id == task.id,
                                                      TaskDraft.user_id == actor.id))
    if draft is None:
        db.session.add(TaskDraft(human_task_id=task.id, user_id=actor.id, data=data, updated_at=now()))
    else:
        draft.data, draft.updated_at = data, now()
    audit.record(actor, "task.draft.save", case_id=task.case_id, instance_id=task.instance_id,
                 human_task_id=task.id)


def drop(step: StepCompleted) -> None:
    """Drop every draft of a completed step, in its transaction (a step-completed listener, so every way of
    completing it does): once the answers are recorded, no half-finished copy of a child's details is kept."""
    if step.task.has_draft:
        write_queue.queue(_DROP, {"task_id": step.task.id})
