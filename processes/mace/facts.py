"""Answers a form marks for oversight reports (`"x-report": kind` on a field), kept as case facts at completion.

Trends by exploitation type and risk level, and persons and locations of concern that recur across
children, are then counted from an indexed table rather than from workflow state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from processes.engine import bundle as bundles
from processes.engine import write_queue
from processes.engine.hooks import StepCompleted
from processes.mace.models import CaseFact

REPORT_KEYWORD = "x-report"
VALUE_LENGTH = 4000  # the longest free text a form reports (the outcome's measures of success, challenges)
_INSERT = insert(CaseFact.__table__).inline()
_paths: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = {}


def report_paths(schema: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """(field path, kind) of each reported field: `("risk_level",)`, or `("locations_of_concern", "place")` for a
    field of repeating rows."""
    found = []
    for name, spec in schema.get("properties", {}).items():
        if REPORT_KEYWORD in spec:
            found.append(((name,), spec[REPORT_KEYWORD]))
        for sub, sub_spec in spec.get("items", {}).get("properties", {}).items():
            if REPORT_KEYWORD in sub_spec:
                found.append(((name, sub), sub_spec[REPORT_KEYWORD]))
    return found


def _values(data: dict[str, Any], path: tuple[str, ...]) -> list[str]:
    value = data.get(path[0])
    if len(path) == 2:
        value = [row.get(path[1]) for row in value or [] if isinstance(row, dict)]
    items = value if isinstance(value, list) else [value]
    return [" ".join(str(v).split())[:VALUE_LENGTH] for v in items if v not in (None, "")]


def record(step: StepCompleted) -> None:
    """Queue a fact for each reported answer of a completed step, with the step's commit (a step-completed
    listener, so every way of completing a step records them)."""
    definition, task, data, at = step.definition, step.task, step.data, step.at
    if not task.form:
        return
    key = (definition.content_hash, task.form)
    if key not in _paths:
        _paths[key] = report_paths(bundles.for_definition(definition).forms.get(task.form, {}))
    rows = [{"case_id": task.case_id, "area_code": task.area_code, "kind": kind, "value": value, "recorded_at": at}
            for path, kind in _paths[key] for value in _values(data, path)]
    if rows:
        write_queue.queue(_INSERT, rows)
