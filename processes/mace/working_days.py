"""Working days: weekdays that are not bank holidays in England and Wales, counted on UK clocks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import holidays

from processes.engine.clock import LOCAL

UK = LOCAL  # the engine's local zone: England and Wales keep UK clocks


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share their bank holidays; the package files them under subdivision ENG.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: datetime, days: int) -> datetime:
    """The same UK clock time `days` working days later (or earlier, if negative), in start's zone.

    Weekends and bank holidays are skipped: one working day after a Friday, or a Saturday, is the Monday.
    Days are counted on UK dates and clocks, so 09:00 stays 09:00 across a change to or from summer time.
    """
    step = 1 if days >= 0 else -1
    wall, remaining = start.astimezone(UK).replace(tzinfo=None), abs(days)
    while remaining:
        wall += timedelta(days=step)
        if is_working_day(wall.date()):
            remaining -= 1
    return wall.replace(tzinfo=UK).astimezone(start.tzinfo)


def days_overdue(due_at: datetime | None, at: datetime) -> int:
    """How many days a step is overdue, by UK calendar dates as people read them: due yesterday is 1 day
    overdue, however few hours ago that was; 0 when it is not overdue (or overdue since earlier today)."""
    if due_at is None or due_at >= at:
        return 0
    return max(0, (at.astimezone(UK).date() - due_at.astimezone(UK).date()).days)


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative if `end` is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(is_working_day(start + timedelta(days=n)) for n in range(1, (end - start).days + 1))
