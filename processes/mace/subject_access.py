"""Subject access: a child's whole record as one document (details, every answer, the plan, the steps, the
timeline and everyone who looked at it), for an administrator answering a subject access request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.engine.transaction import atomic
from processes.identity.models import Area, User
from processes.mace import casefile
from processes.mace.cases import visible_case
from processes.mace.contract import PLAN_FIELD
from processes.mace.policy import RECORDS_EXPORT


def _when(value: Any) -> str | None:
    return aware(value).isoformat() if value is not None else None


def _is_read(action: str) -> bool:
    """A page, list or export that showed the child, rather than a change to their record."""
    return action in casefile.VIEW_ACTIONS or action.endswith(_READ_ENDINGS)


_READ_ENDINGS = (".view", ".list", ".export", ".shown", ".subject_access")


def _field(schema: dict[str, Any], name: str, value: Any, with_schema: bool) -> dict[str, Any]:
    own = schema.get("properties", {}).get(name, {})
    field = {"name": name, "question": own.get("title", name), "answer": value}
    return field | {"schema": own} if with_schema else field


@atomic
def record_of(actor: Actor, case_id: int, with_schemas: bool = False) -> dict[str, Any]:
    """The child's whole record as plain data (404 for another area's case); the export itself is audited.

    `with_schemas` adds each answer's form schema, for a document that shows choices by their labels.
    """
    actor.require(RECORDS_EXPORT, "export a child's whole record")
    case = visible_case(actor, case_id)
    audit.record(actor, "case.subject_access", case_id=case.id)
    steps = casefile.steps_of(case.id)
    answers = casefile.answers_of(case.id, steps)
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                     .order_by(AuditEvent.at, AuditEvent.id)))
    people = casefile.people_named({e.user_id for e in events} | {s.assignee_id for s in steps}
                                   | {s.completed_by_id for s in steps})
    usernames = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(people))).all())
    plans = [a for a in answers if PLAN_FIELD in a.data]
    return {
        "exported_at": now().isoformat(),
        "child": {"case_id": case.id, "name": case.child_name,
                  "date_of_birth": case.date_of_birth.isoformat() if case.date_of_birth else None,
                  "area": db.session.get(Area, case.area_code).name, "recorded_at": _when(case.created_at)},
        "steps": [{"step": s.name, "role": s.role, "status": s.status, "opened_at": _when(s.created_at),
                   "due_at": _when(s.due_at), "completed_at": _when(s.completed_at),
                   "completed_by": people.get(s.completed_by_id)} for s in steps],
        "answers": [{"step": a.title, "completed_at": _when(a.step.completed_at),
                     "completed_by": people.get(a.step.completed_by_id),
                     "fields": [_field(a.schema, name, value, with_schemas) for name, value in a.data.items()]}
                    for a in answers],
        "plan": plans[-1].data[PLAN_FIELD] if plans else None,
        "timeline": [{"at": _when(e.at), "who": people.get(e.user_id), "action": e.action}
                     for e in events if not _is_read(e.action)],
        "looked_at_by": [{"at": _when(e.at), "who": people.get(e.user_id), "username": usernames.get(e.user_id),
                          "action": e.action} for e in events if _is_read(e.action)],
    }
