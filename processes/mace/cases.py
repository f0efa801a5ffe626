"""Cases: creating a child's record and reading it, each audited."""

from __future__ import annotations

from datetime import date

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import InvalidInput, NotFound
from processes.engine.transaction import atomic
from processes.mace.models import Case
from processes.mace.working_days import UK

# The pathway is for children and young people: up to 25 with special needs or leaving care.
OLDEST_AGE = 25


def date_of_birth_error(date_of_birth: date | None) -> str | None:
    """Why a date of birth cannot be right (in the future, or of someone older than the pathway serves)."""
    if date_of_birth is None:
        return None
    today = now().astimezone(UK).date()
    if date_of_birth > today:
        return "Date of birth must be today or in the past."
    if date_of_birth.year < today.year - OLDEST_AGE - 1:
        return f"Date of birth must be within the last {OLDEST_AGE} years: check the year."
    return None


@atomic
def create(actor: Actor, area: str, child_name: str, date_of_birth: date | None = None) -> Case:
    if area not in actor.areas:
        raise InvalidInput("The case was not created.", {"area": [f"You do not work in the area '{area}'."]})
    if not child_name.strip():
        raise InvalidInput("The case was not created.", {"child_name": ["Enter the child's name."]})
    born = date_of_birth_error(date_of_birth)
    if born:
        raise InvalidInput("The case was not created.", {"date_of_birth": [born]})
    case = Case(area_code=area, child_name=child_name.strip(), date_of_birth=date_of_birth,
                created_at=now(), created_by_id=actor.id)
    db.session.add(case)
    db.session.flush()
    audit.record(actor, "case.create", case_id=case.id)
    return case


def visible_case(actor: Actor, case_id: int) -> Case:
    """The case, or NotFound for an unknown id and for another area's case alike (no existence leak)."""
    case = db.session.get(Case, case_id)
    if case is None or case.area_code not in actor.areas:
        if case is not None:
            audit.record_denied(actor, "case.denied", case_id=case_id)
        raise NotFound(f"No case {case_id}.")
    return case


def area_of(case_id: int) -> str | None:
    """The case's area, for the engine (its instances and tasks belong to it); None for an unknown case."""
    case = db.session.get(Case, case_id)
    return case.area_code if case is not None else None


@atomic
def get(actor: Actor, case_id: int) -> Case:
    case = visible_case(actor, case_id)
    audit.record(actor, "case.view", case_id=case.id)
    return case
