"""Finding a child: by name (typos and swapped names forgiven), date of birth or case number, in the user's areas.

PostgreSQL finds the names worth scoring with pg_trgm, through a trigram index on cases.child_name; SQLite,
which has none, takes all of the user's areas' names. rapidfuzz scores them on both, so both answer alike:
the cases of the user's areas whose name is similar enough, best first (then newest), each scored 0 to 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz, process, utils
from sqlalchemy import ColumnElement, Row, func, select

from processes.engine import audit, runtime
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.transaction import atomic
from processes.mace.models import Case

LIMIT = 20
# On PostgreSQL the trigram index narrows the names to score to those sharing enough trigrams (pg_trgm's own
# default share, 0.3); rapidfuzz then scores them as it scores all of an area's names on SQLite, so both
# databases answer alike. Scores are out of 100 and ignore word order, so swapped names score as the same.
CANDIDATES = 500
# A search may give part of a name ("Smith" finds every Smith); a duplicate must be like the whole name.
SEARCH_CUTOFF = 75.0
DUPLICATE_CUTOFF = 85.0


@dataclass(frozen=True)
class Found:
    """One child found: what a list shows, and how alike the name is (1 for the same)."""

    case_id: int
    child_name: str
    date_of_birth: date | None
    area_code: str
    score: float


def _candidates(in_areas: list[ColumnElement[bool]], name: str) -> dict[int, Row]:
    """The cases whose names are worth scoring against `name`: on PostgreSQL those the trigram index finds."""
    query = select(Case.id, Case.child_name, Case.date_of_birth, Case.area_code).where(*in_areas)
    if db.session.get_bind().dialect.name == "postgresql":
        # `%` is the operator the index answers; similarity() keeps the closest when there are very many.
        query = query.where(Case.child_name.op("%")(name)).order_by(
            func.similarity(Case.child_name, name).desc()).limit(CANDIDATES)
    return {row.id: row for row in db.session.execute(query)}


def _similar(areas: frozenset[str], name: str, where: list[ColumnElement[bool]], limit: int,
             scorer: Callable[..., float] = fuzz.token_set_ratio, cutoff: float = SEARCH_CUTOFF) -> list[Found]:
    """Cases of `areas` whose name is like `name`, best first, then newest."""
    cases = _candidates([Case.area_code.in_(areas), *where], name)
    best = process.extract(name, {case_id: row.child_name for case_id, row in cases.items()}, scorer=scorer,
                           processor=utils.default_process, score_cutoff=cutoff, limit=None)
    best.sort(key=lambda match: (-match[1], -match[2]))
    return [Found(*cases[case_id], score=score / 100) for _, score, case_id in best[:limit]]


def find_unaudited(actor: Actor, *, name: str | None = None, date_of_birth: date | None = None,
                   case_number: int | None = None, limit: int = LIMIT) -> list[Found]:
    """The children of the actor's areas matching all that is given, for a caller that audits what it shows."""
    where: list[ColumnElement[bool]] = []
    if case_number is not None:
        where.append(Case.id == case_number)
    if date_of_birth is not None:
        where.append(Case.date_of_birth == date_of_birth)
    if name and name.strip():
        return _similar(actor.areas, name.strip(), where, limit)
    if not where:
        return []
    rows = db.session.execute(select(Case.id, Case.child_name, Case.date_of_birth, Case.area_code)
                              .where(Case.area_code.in_(actor.areas), *where).order_by(Case.id.desc()).limit(limit))
    return [Found(*row, score=1.0) for row in rows]


@atomic
def find(actor: Actor, *, name: str | None = None, date_of_birth: date | None = None,
         case_number: int | None = None, limit: int = LIMIT) -> list[Found]:
    """The children of the actor's areas matching all that is given; each child shown is audited."""
    found = find_unaudited(actor, name=name, date_of_birth=date_of_birth, case_number=case_number, limit=limit)
    audit.record_each(actor, "case.search", (f.case_id for f in found))
    return found


def possible_duplicates(actor: Actor, area: str, child_name: str, date_of_birth: date | None) -> list[Found]:
    """Cases of `area` (one of the actor's) a new referral may be about: a similar name with the same date of
    birth, or a similar name whose pathway is still running. Not audited: the caller audits what it shows."""
    if area not in actor.areas or not child_name.strip():
        return []
    similar = _similar(frozenset({area}), child_name.strip(), [], LIMIT, fuzz.token_sort_ratio, DUPLICATE_CUTOFF)
    return [f for f in similar if (date_of_birth is not None and f.date_of_birth == date_of_birth)
            or runtime.running_pathway(f.case_id) is not None]
