"""Oversight for managers, chairs and business support: overdue steps, weekly trend, bottlenecks, quarterly trends.

Everything here reads the indexed human_tasks, cases and case_facts tables; no workflow is loaded.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, func, or_, select

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.clock import UTC, aware, now
from processes.engine.db import db, insert_once
from processes.engine.errors import InvalidInput
from processes.engine.models import HumanTask
from processes.engine.transaction import atomic
from processes.identity.models import Area, User
from processes.mace.contract import EXPLOITATION_TYPE, LOCATION_OF_CONCERN, PERSON_OF_CONCERN, RISK_LEVEL
from processes.mace.models import Case, CaseFact, OverdueWeek
from processes.mace.policy import OVERSIGHT_VIEW
from processes.mace.working_days import UK, days_overdue

BUCKETS = ("overdue", "due_this_week", "on_time")
TREND_WEEKS = 12
# A step that opens already due (its meeting's day has passed) has a target of 0 days; against it, an hour
# stands in, so that its ratio stays a number and any longer wait shows red.
SHORTEST_TARGET_DAYS = 1 / 24


def _week_end(at: datetime) -> datetime:
    """Midnight at the end of this UK week (Sunday night)."""
    day = at.astimezone(UK).date()
    return datetime.combine(day + timedelta(days=7 - day.weekday()), time(0), UK).astimezone(UTC)


def _bucket(at: datetime):
    return case((HumanTask.due_at < at, "overdue"), (HumanTask.due_at < _week_end(at), "due_this_week"),
                else_="on_time")


def _scope(actor: Actor, area: str | None) -> list[str]:
    actor.require(OVERSIGHT_VIEW, "see oversight pages")
    if area is not None and area not in actor.areas:
        raise InvalidInput("Choose one of your areas.", {"area": [f"You do not work in the area '{area}'."]})
    return [area] if area else sorted(actor.areas)


@dataclass
class Filters:
    stage: str | None = None  # a process id
    area: str | None = None
    due_state: str | None = None  # one of BUCKETS


@dataclass
class Row:
    task: HumanTask
    child_name: str
    assignee: str | None
    days_overdue: int


@dataclass
class Dashboard:
    counts: dict[str, dict[str, int]]  # by stage, then bucket
    by_area: dict[str, dict[str, int]]
    by_assignee: dict[str, dict[str, int]]
    rows: list[Row]
    total: int
    at: datetime
    filters: Filters = field(default_factory=Filters)


def _open_steps(areas: list[str], filters: Filters, at: datetime) -> Select:
    where = [HumanTask.status == "open", HumanTask.area_code.in_(areas)]
    if filters.stage:
        where.append(HumanTask.process_id == filters.stage)
    if filters.due_state:
        if filters.due_state not in BUCKETS:
            raise InvalidInput("Unknown due state.", {"due_state": [f"Choose one of {', '.join(BUCKETS)}."]})
        where.append(_bucket(at) == filters.due_state)
    return select(HumanTask).where(*where)


@atomic
def dashboard(actor: Actor, filters: Filters | None = None, limit: int = 50, offset: int = 0) -> Dashboard:
    """Open steps of the actor's areas by stage, area and assignee; the rows oldest due first. Audited."""
    filters = filters or Filters()
    areas, at = _scope(actor, filters.area), now()
    bucket = _bucket(at)
    grouped = db.session.execute(
        _open_steps(areas, filters, at).with_only_columns(
            HumanTask.process_id, HumanTask.area_code, HumanTask.assignee_id, bucket, func.count())
        .group_by(HumanTask.process_id, HumanTask.area_code, HumanTask.assignee_id, bucket)).all()
    assignees = {g.assignee_id for g in grouped if g.assignee_id is not None}
    names = {user_id: username for user_id, username in db.session.execute(
        select(User.id, User.username).where(User.id.in_(assignees)))} if assignees else {}
    counts: dict[str, dict[str, int]] = {}
    by_area: dict[str, dict[str, int]] = {}
    by_assignee: dict[str, dict[str, int]] = {}
    total = 0
    for stage, area, assignee_id, state, n in grouped:
        for table, key in ((counts, stage), (by_area, area), (by_assignee, names.get(assignee_id, "(unclaimed)"))):
            table.setdefault(key, dict.fromkeys(BUCKETS, 0))[state] += n
        total += n
    rows = [_row(task, name, user, at) for task, name, user in db.session.execute(
        _open_steps(areas, filters, at).add_columns(Case.child_name, User.username)
        .join(Case, Case.id == HumanTask.case_id).outerjoin(User, User.id == HumanTask.assignee_id)
        .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id).limit(limit).offset(offset))]
    audit.record_each(actor, "dashboard.view", (r.task.case_id for r in rows))
    return Dashboard(counts, by_area, by_assignee, rows, total, at, filters)


def _row(task: HumanTask, child_name: str, assignee: str | None, at: datetime) -> Row:
    return Row(task, child_name, assignee, days_overdue(aware(task.due_at), at))


@atomic
def export(actor: Actor, filters: Filters | None = None) -> list[list[str]]:
    """The dashboard's rows, every one of them, for a CSV file (a header first). The export is audited."""
    filters = filters or Filters()
    areas, at = _scope(actor, filters.area), now()
    lines = [["task_id", "case_id", "child", "stage", "step", "area", "assignee", "due", "days_overdue", "state"]]
    query = (_open_steps(areas, filters, at).add_columns(Case.child_name, User.username, _bucket(at))
             .join(Case, Case.id == HumanTask.case_id).outerjoin(User, User.id == HumanTask.assignee_id)
             .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id))
    for task, name, user, state in db.session.execute(query):
        due = aware(task.due_at)
        lines.append([str(task.id), str(task.case_id), name, task.process_id, task.name, task.area_code, user or "",
                      due.astimezone(UK).isoformat(timespec="minutes") if due else "",
                      str(_row(task, name, user, at).days_overdue), state])
    audit.record_each(actor, "dashboard.export", (int(line[1]) for line in lines[1:]))
    return lines


def _overdue_at(areas: list[str], end: datetime, stage: str | None = None) -> dict[str, int]:
    """Each area's steps (of one stage, if given) that were overdue at `end`: due before it, opened by then and
    not done by then.

    Only steps still open, or done since `end`, can count, so the query reads those rows alone.
    """
    counted = func.sum(case((and_(HumanTask.due_at < end, HumanTask.created_at <= end,
                                  or_(HumanTask.completed_at.is_(None), HumanTask.completed_at > end)), 1), else_=0))
    rows = db.session.execute(
        select(HumanTask.area_code, counted)
        .where(HumanTask.area_code.in_(areas), HumanTask.due_at < end,
               or_(HumanTask.status == "open", HumanTask.completed_at > end),
               *([HumanTask.process_id == stage] if stage else []))
        .group_by(HumanTask.area_code)).all()
    return {area: int(n or 0) for area, n in rows}


def _ended_weeks(at: datetime, weeks: int) -> list[datetime]:
    """The ends of the last `weeks` weeks that have ended, oldest first."""
    last = _week_end(at) - timedelta(weeks=1)
    return [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def weeks_to_record(weeks: int = TREND_WEEKS) -> bool:
    """Whether the latest week to end has not been counted yet (the sweep's cue to run `record_weeks`)."""
    if db.session.scalar(select(Area.code).limit(1)) is None:
        return False
    last = _ended_weeks(now(), 1)[0].astimezone(UK).date()
    return db.session.scalar(select(OverdueWeek.area_code).where(OverdueWeek.week_end == last).limit(1)) is None


@atomic
def record_weeks(weeks: int = TREND_WEEKS) -> int:
    """Count each area's overdue steps at the end of each of the last `weeks` weeks not yet counted; returns
    how many counts were kept. Run by the sweep once a week has ended; safe to run again."""
    areas = list(db.session.scalars(select(Area.code)))
    recorded = {(a, d) for a, d in db.session.execute(select(OverdueWeek.area_code, OverdueWeek.week_end))}
    kept = 0
    for end in _ended_weeks(now(), weeks):
        day = end.astimezone(UK).date()
        missing = [a for a in areas if (a, day) not in recorded]
        if missing:
            counts = _overdue_at(missing, end)
            for area in missing:
                db.session.execute(insert_once(OverdueWeek.__table__, {
                    "area_code": area, "week_end": day, "overdue": counts.get(area, 0)}, ["area_code", "week_end"]))
            kept += len(missing)
    return kept


def weekly_trend(actor: Actor, weeks: int = TREND_WEEKS, filters: Filters | None = None) -> list[tuple[date, int]]:
    """How many steps were overdue at the end of each of the last `weeks` weeks (UK), oldest first; the last
    is this week so far. Each week is labelled with the Monday it ends on (today, for this week). The
    dashboard's area and stage filters narrow it as they narrow the table (a due state does not: it counts
    what was overdue).

    Ended weeks come from the counts the sweep keeps per area; a week not counted yet, or one stage's, is
    counted here.
    """
    filters = filters or Filters()
    areas, at = _scope(actor, filters.area), now()
    ended = _ended_weeks(at, weeks - 1)
    days = [end.astimezone(UK).date() for end in ended]
    kept: dict[date, dict[str, int]] = {}
    if not filters.stage:  # the kept counts are of every stage
        for area, day, overdue in db.session.execute(
                select(OverdueWeek.area_code, OverdueWeek.week_end, OverdueWeek.overdue)
                .where(OverdueWeek.area_code.in_(areas), OverdueWeek.week_end.in_(days))):
            kept.setdefault(day, {})[area] = overdue
    trend = []
    for end, day in zip(ended, days, strict=True):
        counts = kept.get(day, {})
        if set(counts) != set(areas):
            counts = {**_overdue_at([a for a in areas if a not in counts], end, filters.stage), **counts}
        trend.append((day, sum(counts.values())))
    # Now, only open steps can be overdue: one indexed count, no history to read.
    current = db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.status == "open", HumanTask.due_at < at, HumanTask.area_code.in_(areas),
        *([HumanTask.process_id == filters.stage] if filters.stage else [])))
    trend.append((at.astimezone(UK).date(), int(current or 0)))
    return trend


@dataclass
class StepStats:
    """How long a step takes against its target, across the cases of the actor's areas."""

    process_id: str
    element_id: str
    name: str
    target_days: float | None
    median_days: float
    over_target: int
    count: int
    cases_over_target: list[int]
    longest_open_days: float | None = None  # the step still open longest, its time so far

    @property
    def ratio(self) -> float | None:
        """Time taken against the target: the median, or the longest still open if longer, so that children
        waiting far past the target are not hidden by quick others (open late work counts)."""
        if self.target_days is None:
            return None
        return max(self.median_days, self.longest_open_days or 0.0) / max(self.target_days, SHORTEST_TARGET_DAYS)


@atomic
def bottlenecks(actor: Actor, days: int = 180) -> list[StepStats]:
    """Per step: the median time spent (completed steps, and open ones so far) against the median target
    (its due time less when it opened), and how many cases are over target, over the last `days` days."""
    areas, at = _scope(actor, None), now()
    rows = db.session.execute(
        select(HumanTask.process_id, HumanTask.element_id, HumanTask.name, HumanTask.case_id, HumanTask.created_at,
               HumanTask.due_at, HumanTask.completed_at, HumanTask.status)
        .where(HumanTask.area_code.in_(areas), HumanTask.status != "cancelled",
               HumanTask.created_at >= at - timedelta(days=days))).all()
    by_step: dict[tuple[str, str], list] = {}
    for row in rows:
        by_step.setdefault((row.process_id, row.element_id), []).append(row)
    stats = []
    for (process_id, element_id), steps in sorted(by_step.items()):
        spent, targets, over, still_open = [], [], [], []
        for s in steps:
            opened, due = aware(s.created_at), aware(s.due_at)
            finished = aware(s.completed_at) or at
            spent.append((finished - opened).total_seconds() / 86400)
            if s.status == "open":
                still_open.append(spent[-1])
            if due is not None:
                # Due before it opened (its meeting's day passed first) is a target of nothing, not less.
                targets.append(max(0.0, (due - opened).total_seconds() / 86400))
                if finished > due:
                    over.append(s.case_id)
        stats.append(StepStats(process_id, element_id, _step_name([s.name for s in steps]),
                               statistics.median(targets) if targets else None, statistics.median(spent),
                               len(over), len(steps), sorted(set(over))[:100], max(still_open, default=None)))
    audit.record(actor, "bottlenecks.view")
    return stats


def _step_name(names: list[str]) -> str:
    """One name for a step's rows: a step run once per agency is named "<step>: <agency>" for each, so the
    step itself is what their names share, not the first agency's."""
    distinct = sorted(set(names))
    steps = {name.rpartition(": ")[0] or name for name in distinct}
    return steps.pop() if len(steps) == 1 else distinct[0]


@dataclass
class Trends:
    quarter: str
    by_exploitation_type: dict[str, int]
    by_risk_level: dict[str, int]
    by_area: dict[str, int]
    recurring_persons: list[tuple[str, int, list[str]]]  # value, children, areas
    recurring_locations: list[tuple[str, int, list[str]]]


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    if quarter not in (1, 2, 3, 4):
        raise InvalidInput("Choose a quarter.", {"quarter": ["Choose 1, 2, 3 or 4."]})
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=UK)
    end = datetime(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1, tzinfo=UK)
    return start.astimezone(UTC), end.astimezone(UTC)


@atomic
def quarterly(actor: Actor, year: int, quarter: int) -> Trends:
    """For the strategic meeting: the quarter's cases by exploitation type, risk level and area, and the persons
    and locations of concern named for more than one child in the actor's areas."""
    areas = _scope(actor, None)
    start, end = quarter_bounds(year, quarter)
    in_quarter = [CaseFact.area_code.in_(areas), CaseFact.recorded_at >= start, CaseFact.recorded_at < end]

    def distinct_cases(kind: str) -> dict[str, int]:
        return dict(db.session.execute(
            select(CaseFact.value, func.count(func.distinct(CaseFact.case_id)))
            .where(CaseFact.kind == kind, *in_quarter).group_by(CaseFact.value).order_by(CaseFact.value)).all())

    latest_risk = (select(CaseFact.case_id, func.max(CaseFact.id).label("id"))
                   .where(CaseFact.kind == RISK_LEVEL, *in_quarter).group_by(CaseFact.case_id).subquery())
    risk = dict(db.session.execute(
        select(CaseFact.value, func.count()).join(latest_risk, latest_risk.c.id == CaseFact.id)
        .group_by(CaseFact.value)).all())
    by_area = dict(db.session.execute(
        select(Case.area_code, func.count()).where(Case.area_code.in_(areas), Case.created_at >= start,
                                                   Case.created_at < end).group_by(Case.area_code)).all())

    def recurring(kind: str) -> list[tuple[str, int, list[str]]]:
        key = func.lower(CaseFact.value)
        found = db.session.execute(
            select(func.min(CaseFact.value), func.count(func.distinct(CaseFact.case_id)),
                   func.group_concat(func.distinct(CaseFact.area_code)) if db.engine.dialect.name == "sqlite"
                   else func.string_agg(func.distinct(CaseFact.area_code), ","))
            .where(CaseFact.kind == kind, *in_quarter).group_by(key)
            .having(func.count(func.distinct(CaseFact.case_id)) > 1)
            .order_by(func.count(func.distinct(CaseFact.case_id)).desc(), key)).all()
        return [(value, n, sorted(set(codes.split(",")))) for value, n, codes in found]

    audit.record(actor, "trends.view", detail=f"{year} Q{quarter}")
    return Trends(f"{year} Q{quarter}", distinct_cases(EXPLOITATION_TYPE), risk, by_area,
                  recurring(PERSON_OF_CONCERN), recurring(LOCATION_OF_CONCERN))
