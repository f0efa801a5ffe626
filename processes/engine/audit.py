"""Writes audit rows inside the caller's transaction: who, what, when and which case; never form contents."""

from collections.abc import Iterable

from sqlalchemy import insert

from processes.engine import write_queue
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.models import AuditEvent
from processes.engine.permissions import INSTANCE_CANCEL

_INSERT = insert(AuditEvent.__table__).inline()
# Actions whose detail is free text a person wrote (why a pathway was stopped, which may name anyone), and the
# permission needed to read it: those who may stop a pathway read why one was stopped; others see that it was.
_REASONS = {"instance.cancel": INSTANCE_CANCEL}


def _row(actor: Actor | None, action: str, case_id: int | None = None, instance_id: int | None = None,
         human_task_id: int | None = None, detail: str | None = None) -> dict:
    return {"at": now(), "user_id": actor.id if actor else None, "action": action, "case_id": case_id,
            "instance_id": instance_id, "human_task_id": human_task_id, "detail": detail}


def record(actor: Actor | None, action: str, *, case_id: int | None = None, instance_id: int | None = None,
           human_task_id: int | None = None, detail: str | None = None) -> None:
    # Queued: sent with the rest of the change at commit, and undone with it.
    write_queue.queue(_INSERT, _row(actor, action, case_id, instance_id, human_task_id, detail))


def record_each(actor: Actor, action: str, case_ids: Iterable[int], detail: str | None = None) -> None:
    """One row per case, sent as one batch: for pages that list several children's cases at once.

    With no case shown, one row without a case still says the page was seen. Either way it is a single
    INSERT statement, whatever the number of children.
    """
    at = now()
    rows = [{**_row(actor, action, case_id, detail=detail), "at": at} for case_id in sorted(set(case_ids))]
    write_queue.queue(_INSERT, rows or _row(actor, action, detail=detail))


def record_denied(actor: Actor, action: str, *, case_id: int | None = None, detail: str | None = None) -> None:
    """A refused request for another area's record: kept even though the refusal undoes the change.

    The row names only the record's id and what was asked, never anything of the child.
    """
    write_queue.queue_kept(_INSERT, _row(actor, action, case_id, detail=detail))


def reason(actor: Actor, event: AuditEvent) -> str | None:
    """The free-text reason an event was given, for those whose permission lets them read it; else None."""
    needed = _REASONS.get(event.action)
    return event.detail if needed is not None and actor.may(needed) else None


def shown_detail(actor: Actor, event: AuditEvent) -> str | None:
    """An event's detail as this actor may read it: the element or version it names, and reasons only as above."""
    return reason(actor, event) if event.action in _REASONS else event.detail
