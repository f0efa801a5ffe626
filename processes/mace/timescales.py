"""The pathway's timescales and MACE 1 calendar, read from the bundle's `timescales.json`, for BPMN expressions.

Process owners change how long each step may take, when MACE 1 meets in each area and the holiday
periods that extend the plan deadline in that file, never in Python. It is deployed with the diagrams,
so each pathway version keeps the timescales it was deployed with.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from dateutil.relativedelta import relativedelta
from jsonschema import Draft202012Validator

from processes.engine import bundle as bundles
from processes.engine.clock import UTC, now
from processes.engine.config_files import file_problems, schema_problems
from processes.engine.errors import Problem, ScriptFunctionError
from processes.engine.hooks import Deployable, StepOpened
from processes.engine.validation import expressions
from processes.engine.workflow_sync import loop_item
from processes.mace.working_days import UK, add_working_days, is_working_day

FILE_NAME = "timescales.json"
UNITS = ("working_days", "days", "weeks", "months", "hours")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["timescales", "mace1"],
    "properties": {
        "$comment": {"type": "string"},
        "timescales": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {
                "type": "object",
                "required": ["amount", "unit"],
                "properties": {
                    "amount": {"type": "integer", "minimum": 0, "maximum": 1000},
                    "unit": {"enum": list(UNITS)},
                    "about": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        "mace1": {
            "type": "object",
            "required": ["plan_ready_days_before", "meetings"],
            "properties": {
                "plan_ready_days_before": {"type": "integer", "minimum": 0, "maximum": 120},
                "holiday_periods": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "from", "to", "extend_by_days"],
                        "properties": {"name": {"type": "string"}, "from": {"type": "string", "pattern": _MONTH_DAY},
                                       "to": {"type": "string", "pattern": _MONTH_DAY},
                                       "extend_by_days": {"type": "integer", "minimum": 0, "maximum": 60}},
                        "additionalProperties": False,
                    },
                },
                "core_agencies": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "name"],
                        "properties": {"code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                                       "name": {"type": "string", "minLength": 1}},
                        "additionalProperties": False,
                    },
                },
                "meetings": {
                    "type": "object",
                    "required": ["default"],
                    "properties": {
                        "default": {"$ref": "#/$defs/cadence"},
                        "by_area": {"type": "object", "additionalProperties": {"$ref": "#/$defs/cadence"}},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
    "$defs": {
        "cadence": {
            "type": "object",
            "required": ["frequency", "weekday", "time"],
            "properties": {
                "frequency": {"enum": ["weekly", "monthly"]},
                "weekday": {"enum": list(WEEKDAYS)},
                "week_of_month": {"enum": [1, 2, 3, 4, -1]},
                "time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                "minutes_per_case": {"type": "integer", "minimum": 1},
            },
            "if": {"properties": {"frequency": {"const": "monthly"}}},
            "then": {"required": ["week_of_month"]},
            "additionalProperties": False,
        },
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


class UnknownTimescale(ScriptFunctionError):
    """A diagram counted a timescale its version's timescales.json does not define."""


def problems(config: Any) -> list[str]:
    """Each way the configuration breaks its rules, as 'where: what' sentences."""
    found = schema_problems(_VALIDATOR, config)
    if not found:
        for n, period in enumerate(config["mace1"].get("holiday_periods", [])):
            for end in ("from", "to"):
                month, day = map(int, period[end].split("-"))
                try:
                    date(2024, month, day)  # a leap year, so 02-29 is a day
                except ValueError:
                    found.append(f"mace1/holiday_periods/{n}/{end}: {period[end]!r} is not a day of the year")
    return found


def _as_datetime(value: datetime | date | str | None) -> datetime:
    """Times from task data arrive as ISO strings; a date alone means the start of that day in the UK."""
    if value is None:
        return now()
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UK)
    return datetime.combine(value, time(0, 0), UK)


@dataclass(frozen=True)
class Meeting:
    """A MACE 1 meeting of an area: when it starts and the day its RIC plans must be ready by."""

    starts_at: datetime
    plan_deadline: date

    def as_data(self) -> dict[str, str]:
        """JSON-safe, for task data: BPMN expressions read `mace1["date"]` (when it starts), `mace1["day"]`
        (its UK date) and `mace1["plan_deadline"]`."""
        return {"date": self.starts_at.isoformat(), "day": self.starts_at.astimezone(UK).date().isoformat(),
                "plan_deadline": self.plan_deadline.isoformat()}


class Timescales:
    """One deployed `timescales.json`, with the arithmetic BPMN expressions call."""

    def __init__(self, config: dict[str, Any]):
        self.config = config

    def _step(self, name: str) -> tuple[int, str]:
        try:
            entry = self.config["timescales"][name]
        except KeyError:
            raise UnknownTimescale(f"no timescale '{name}' in {FILE_NAME}") from None
        return entry["amount"], entry["unit"]

    def after(self, name: str, start: datetime | date | str | None = None) -> datetime:
        """When the named timescale runs out, counted from `start` (default: now)."""
        return self._shift(name, _as_datetime(start), 1)

    def before(self, name: str, end: datetime | date | str) -> datetime:
        """The named timescale counted back from `end` (e.g. circulate a plan 5 working days before MACE 1)."""
        return self._shift(name, _as_datetime(end), -1)

    def _shift(self, name: str, at: datetime, sign: int) -> datetime:
        amount, unit = self._step(name)
        if unit == "working_days":
            return add_working_days(at, sign * amount)
        if unit == "hours":  # elapsed time, e.g. a return home interview within 72 hours
            return at + sign * timedelta(hours=amount)
        # Calendar units move on UK dates and clocks, like working days, so 10:00 stays 10:00 across summer time.
        delta = {"days": relativedelta(days=amount), "weeks": relativedelta(weeks=amount),
                 "months": relativedelta(months=amount)}[unit]
        wall = at.astimezone(UK).replace(tzinfo=None)
        wall = wall + delta if sign > 0 else wall - delta
        return wall.replace(tzinfo=UK).astimezone(at.tzinfo)

    def _cadence(self, area: str) -> dict[str, Any]:
        meetings = self.config["mace1"]["meetings"]
        return meetings.get("by_area", {}).get(area, meetings["default"])

    @cached_property
    def core_agencies(self) -> dict[str, str]:
        """The agencies whose core members make up MACE 1, code to name, for its attendance register; every step
        run once per agency is named from it. A deployed file never changes, so it is worked out once."""
        return {a["code"]: a["name"] for a in self.config["mace1"].get("core_agencies", [])}

    def next_meeting(self, area: str, after: date) -> Meeting:
        """The area's first meeting on a day after `after`: where business support moves a case."""
        return self._meeting(area, next(self.meeting_days(area, after + timedelta(days=1))))

    def minutes_per_case(self, area: str) -> int | None:
        return self._cadence(area).get("minutes_per_case")

    def meeting_days(self, area: str, start: date) -> Any:
        """The area's MACE 1 meeting days on or after `start`, in order, for ever.

        A meeting day that is a bank holiday moves to the next working day.
        """
        cadence = self._cadence(area)
        weekday = WEEKDAYS.index(cadence["weekday"])
        if cadence["frequency"] == "weekly":
            day = start + timedelta(days=(weekday - start.weekday()) % 7)
            while True:
                yield _next_working_day(day)
                day += timedelta(days=7)
        month = date(start.year, start.month, 1)
        while True:
            day = _nth_weekday(month, weekday, cadence["week_of_month"])
            moved = _next_working_day(day)
            if moved >= start:
                yield moved
            month += relativedelta(months=1)

    def meeting_at(self, area: str, day: date) -> datetime:
        hour, minute = map(int, self._cadence(area)["time"].split(":"))
        return datetime.combine(day, time(hour, minute), UK).astimezone(UTC)

    def plan_deadline(self, meeting_day: date) -> date:
        """The day a meeting's RIC plans must be ready by: `plan_ready_days_before` days earlier, extended by
        `extend_by_days` of each holiday period that window touches, then back to a working day."""
        base = meeting_day - timedelta(days=self.config["mace1"]["plan_ready_days_before"])
        window = [base + timedelta(days=n) for n in range((meeting_day - base).days)]
        extra = sum(period["extend_by_days"] for period in self.config["mace1"].get("holiday_periods", [])
                    if any(_within(period, day) for day in window))
        return _previous_working_day(base - timedelta(days=extra))

    def meetings(self, area: str, start: date, count: int) -> list[Meeting]:
        days = self.meeting_days(area, start)
        return [self._meeting(area, next(days)) for _ in range(count)]

    def _meeting(self, area: str, day: date) -> Meeting:
        return Meeting(self.meeting_at(area, day), self.plan_deadline(day))

    def book(self, area: str, near: datetime | date | str | None = None) -> Meeting:
        """The area's MACE 1 meeting for a case: of the meetings whose plan deadline is today or later, the
        first, or, given `near` (when a review falls due), the one nearest to it, the earlier on a tie.

        Nearest, not first after, so a review every three months stays on the meeting cycle and does not
        drift a meeting later each time.
        """
        today = now().astimezone(UK).date()
        target = _as_datetime(near).astimezone(UK).date() if near is not None else None
        best: date | None = None
        for day in self.meeting_days(area, today):
            if self.plan_deadline(day) < today:
                continue
            if target is None or day >= target:
                if best is None or (target is not None and (day - target) < (target - best)):
                    best = day
                return self._meeting(area, best)
            best = day
        raise AssertionError("meeting_days never ends")

    def script_functions(self) -> dict[str, Any]:
        """What BPMN scripts and expressions may call: see bpmn/README.md."""
        return {
            "due_after": self.after,
            "due_before": self.before,
            "book_mace1": lambda area, near=None: self.book(area, near).as_data(),
        }


class TimescalesFile:
    """`timescales.json` as a bundle extension: checked at deploy, parsed once per version, and offering the
    diagrams `due_after`, `due_before` and `book_mace1` bound to that version's figures."""

    file_name = FILE_NAME

    def check(self, text: str) -> list[str]:
        return file_problems(text, "The timescales are", "The timescales break their rules at", problems)

    def parse(self, text: str) -> Timescales:
        return Timescales(json.loads(text))

    def functions(self, config: Timescales) -> dict[str, Any]:
        return config.script_functions()


def for_definition(definition: Any) -> Timescales | None:
    """The timescales a deployed version carries, if it has any."""
    return bundles.for_definition(definition).configs.get(FILE_NAME)


_COUNTING = ("due_after", "due_before")
_FUNCTIONS = (*_COUNTING, "book_mace1")


def check_timescale_names(bundle: Deployable) -> Iterator[Problem]:
    """A diagram that counts a timescale the bundle does not define would fail only when a case got there."""
    timescales = bundle.parsed.configs.get(FILE_NAME)
    defined = set(timescales.config["timescales"]) if timescales else set()
    for name, text in sorted(bundle.files.items()):
        if not bundles.is_bpmn(name):
            continue
        for element_id, source, mode in expressions(bundles.parse_xml(text).getroot()):
            try:
                tree = ast.parse(source.strip(), mode=mode)
            except SyntaxError:
                continue  # reported as not compiling
            for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)):
                function = call.func.id
                if function not in _FUNCTIONS:
                    continue
                if timescales is None:
                    yield Problem(name, element_id, f"{function} needs {FILE_NAME} in the bundle.")
                elif function in _COUNTING:
                    first = call.args[0] if call.args else None
                    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                        yield Problem(name, element_id, f"{function} takes the name of a timescale in quotes first, "
                                                        f'e.g. {function}("hub_decision").')
                    elif first.value not in defined:
                        yield Problem(name, element_id, f"No timescale '{first.value}' in "
                                                        f"{FILE_NAME}.")


def _within(period: dict[str, Any], day: date) -> bool:
    """Whether a day falls in a holiday period given as MM-DD bounds, which may run over New Year."""
    key, start, end = day.strftime("%m-%d"), period["from"], period["to"]
    return (start <= key <= end) if start <= end else (key >= start or key <= end)


def _previous_working_day(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def _next_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _nth_weekday(month: date, weekday: int, nth: int) -> date:
    if nth > 0:
        first = month + timedelta(days=(weekday - month.weekday()) % 7)
        return first + timedelta(weeks=nth - 1)
    last = month + relativedelta(months=1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def name_agency_step(opened: StepOpened) -> None:
    """A step run once per agency is named for the agency, as the pathway's core agencies list it, and kept to
    that agency's people (the engine's group of the step)."""
    item = loop_item(opened.task)
    timescales = for_definition(opened.instance.definition)
    if timescales is not None and item in timescales.core_agencies:
        name = opened.task.task_spec.bpmn_name or opened.task.task_spec.bpmn_id
        opened.row["name"] = f"{name}: {timescales.core_agencies[item]}"[:255]
        opened.row["group_code"] = item
