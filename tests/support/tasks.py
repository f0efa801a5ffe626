"""Small helpers the tests share: open tasks of a case, row counts, instance snapshots and what a sweep enqueues."""

from sqlalchemy import func, select

from processes.engine import scheduler
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessInstance


def open_tasks(case_id: int) -> list[HumanTask]:
    return list(db.session.scalars(
        select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.status == "open").order_by(HumanTask.id)
    ))


def open_task(case_id: int, element_id: str) -> HumanTask:
    [task] = [t for t in open_tasks(case_id) if t.element_id == element_id]
    return task


def count(model) -> int:
    """How many rows the table of `model` holds."""
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot(instance_id: int) -> tuple:
    """Everything a failed change must leave untouched."""
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
    return instance.state, instance.version, instance.status, sorted((t.id, t.status, t.assignee_id) for t in tasks)


def swept() -> dict[str, list[int]]:
    """The ids a sweep hands on now, by job, without running any of them."""
    handed: dict[str, list[int]] = {job: [] for job in scheduler.jobs()}
    scheduler.sweep(lambda job, ids: handed[job].extend(ids))
    return handed
