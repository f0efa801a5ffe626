"""Writes audit rows inside the caller's transaction: who, what, when and which case; never form contents."""

from sqlalchemy import insert

from .clock import now
from .db import db
from .identity import Actor
from .models import AuditEvent


def record(actor: Actor | None, action: str, *, case_id: int | None = None, instance_id: int | None = None,
           human_task_id: int | None = None, detail: str | None = None) -> None:
    # A Core insert: the row is written with the rest of the change, without unit-of-work bookkeeping.
    db.session.execute(insert(AuditEvent).values(
        at=now(), user_id=actor.id if actor else None, action=action, case_id=case_id,
        instance_id=instance_id, human_task_id=human_task_id, detail=detail,
    ))
