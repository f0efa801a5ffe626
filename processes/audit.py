"""Writes audit rows inside the caller's transaction: who, what, when and which case; never form contents."""

from .clock import now
from .db import db
from .identity import Actor
from .models import AuditEvent


def record(actor: Actor | None, action: str, *, case_id: int | None = None, instance_id: int | None = None,
           human_task_id: int | None = None, detail: str | None = None) -> None:
    db.session.add(AuditEvent(
        at=now(), user_id=actor.id if actor else None, action=action, case_id=case_id,
        instance_id=instance_id, human_task_id=human_task_id, detail=detail,
    ))
