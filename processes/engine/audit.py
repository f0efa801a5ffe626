"""Writes audit rows inside the caller's transaction: who, what, when and which case; never form contents."""

from sqlalchemy import insert

from processes.engine import write_queue
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.models import AuditEvent

_INSERT = insert(AuditEvent.__table__).inline()


def record(actor: Actor | None, action: str, *, case_id: int | None = None, instance_id: int | None = None,
           human_task_id: int | None = None, detail: str | None = None) -> None:
    # Queued: sent with the rest of the change at commit, and undone with it.
    write_queue.queue(_INSERT, {
        "at": now(), "user_id": actor.id if actor else None, "action": action, "case_id": case_id,
        "instance_id": instance_id, "human_task_id": human_task_id, "detail": detail,
    })


def record_each(actor: Actor, action: str, case_ids: set[int]) -> None:
    """One row per case, sent as one batch: for pages that list several children's cases at once."""
    at = now()
    rows = [{"at": at, "user_id": actor.id, "action": action, "case_id": case_id, "instance_id": None,
             "human_task_id": None, "detail": None} for case_id in sorted(case_ids)]
    if rows:
        write_queue.queue(_INSERT, rows)
