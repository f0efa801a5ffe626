"""My cases: the children a worker has steps of (open or done), and for managers their areas' cases with open steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select, union

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.engine.transaction import atomic
from processes.mace.models import Case
from processes.mace.policy import CASES_OF_AREA

LIMIT = 100


@dataclass(frozen=True)
class MyCase:
    case_id: int
    child_name: str
    date_of_birth: date | None
    area_code: str
    open_steps: int
    next_due: datetime | None


def _case_ids(actor: Actor) -> Select:
    """Each way a case is the actor's, as one set of case ids: allocated to them, or a step of theirs."""
    # A completed step keeps its assignee (whoever claimed or completed it), so this covers steps done too.
    ways = [select(Case.id.label("case_id")).where(Case.allocated_worker_id == actor.id,
                                                   Case.area_code.in_(actor.areas)),
            select(HumanTask.case_id).where(HumanTask.assignee_id == actor.id,
                                            HumanTask.area_code.in_(actor.areas))]
    if actor.may(CASES_OF_AREA):
        ways.append(select(HumanTask.case_id).where(HumanTask.status == "open", HumanTask.area_code.in_(actor.areas)))
    return union(*ways)


@atomic
def my_cases(actor: Actor, limit: int = LIMIT) -> list[MyCase]:
    """The actor's cases, soonest open step first (cases with none last, newest first); each child shown audited."""
    mine = _case_ids(actor).subquery()
    steps = (select(HumanTask.case_id, func.count().label("open_steps"), func.min(HumanTask.due_at).label("next_due"))
             .where(HumanTask.status == "open", HumanTask.case_id.in_(select(mine.c.case_id)))
             .group_by(HumanTask.case_id).subquery())
    rows = db.session.execute(
        select(Case.id, Case.child_name, Case.date_of_birth, Case.area_code,
               func.coalesce(steps.c.open_steps, 0), steps.c.next_due)
        .outerjoin(steps, steps.c.case_id == Case.id)
        .where(Case.id.in_(select(mine.c.case_id)), Case.area_code.in_(actor.areas))
        .order_by(steps.c.next_due.is_(None), steps.c.next_due, Case.id.desc()).limit(limit))
    found = [MyCase(*row) for row in rows]
    audit.record_each(actor, "case.list_mine", (c.case_id for c in found))
    return found
