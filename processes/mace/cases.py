"""Cases: creating a child's record and reading it, each audited."""

from __future__ import annotations

from datetime import date

from processes.engine import audit
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import InvalidInput
from processes.engine.transaction import atomic
from processes.identity.access import visible_case
from processes.identity.users import Actor
from processes.mace.models import Case


@atomic
def create(actor: Actor, area: str, child_name: str, date_of_birth: date | None = None) -> Case:
    if area not in actor.areas:
        raise InvalidInput("The case was not created.", {"area": [f"You do not work in the area '{area}'."]})
    if not child_name.strip():
        raise InvalidInput("The case was not created.", {"child_name": ["Enter the child's name."]})
    case = Case(area_code=area, child_name=child_name.strip(), date_of_birth=date_of_birth,
                created_at=now(), created_by_id=actor.id)
    db.session.add(case)
    db.session.flush()
    audit.record(actor, "case.create", case_id=case.id)
    return case


@atomic
def get(actor: Actor, case_id: int) -> Case:
    case = visible_case(actor, case_id)
    audit.record(actor, "case.view", case_id=case.id)
    return case
