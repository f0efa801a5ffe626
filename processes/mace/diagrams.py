"""Pathway diagrams: which BPMN file of a definition holds which process, the processes' names, and a
case's steps and waiting timers marked on a diagram (completed, waiting, current, overdue). Reads task and timer
rows, never workflow state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from processes.engine import bundle as bundles
from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessDefinition
from processes.mace.working_days import days_overdue

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Which state wins when several steps meet on one element (a loop, or a call activity's stage).
_RANK = {"completed": 0, "waiting": 1, "current": 2, "overdue": 3}


@dataclass(frozen=True)
class ProcessInfo:
    process_id: str
    name: str
    file: str
    calls: dict[str, str]  # call activity element id -> the process it calls


@dataclass
class Diagram:
    process_id: str
    name: str
    file: str
    xml: str
    states: dict[str, str] = field(default_factory=dict)  # element id -> completed | waiting | current | overdue
    links: dict[str, int] = field(default_factory=dict)  # element id -> the task page to open
    days_overdue: dict[str, int] = field(default_factory=dict)


_processes: dict[tuple[str, str], dict[str, ProcessInfo]] = {}


def processes_of(definition: ProcessDefinition) -> dict[str, ProcessInfo]:
    """Every process in the definition's BPMN files, found by its `<bpmn:process id=...>`; once per version."""
    cache_key = (definition.key, definition.content_hash)
    if cache_key not in _processes:
        found = {}
        for name, text in sorted(definition.files.items()):
            if not bundles.is_bpmn(name):
                continue
            for process in bundles.parse_xml(text).getroot().iter(f"{{{BPMN_NS}}}process"):
                calls = {call.get("id"): call.get("calledElement")
                         for call in process.iter(f"{{{BPMN_NS}}}callActivity") if call.get("calledElement")}
                pid = process.get("id")
                found[pid] = ProcessInfo(pid, process.get("name") or humanise(pid), name, calls)
        _processes[cache_key] = found
    return _processes[cache_key]


_elements: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}


def elements_of(definition: ProcessDefinition) -> dict[str, tuple[str, str]]:
    """Element id -> (its process id, its name) over the definition's BPMN files; once per version."""
    cache_key = (definition.key, definition.content_hash)
    if cache_key not in _elements:
        found = {}
        for name, text in sorted(definition.files.items()):
            if not bundles.is_bpmn(name):
                continue
            for process in bundles.parse_xml(text).getroot().iter(f"{{{BPMN_NS}}}process"):
                for element in process.iter():
                    element_id = element.get("id")
                    if element_id and element is not process:
                        found[element_id] = (process.get("id"), element.get("name") or humanise(element_id))
        _elements[cache_key] = found
    return _elements[cache_key]


def humanise(identifier: str) -> str:
    return identifier.replace("_", " ").replace("-", " ").strip().capitalize()


def stage_names() -> dict[str, str]:
    """Process id -> name, over the latest version of every deployed key (the worklists' stage filter)."""
    latest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.key).subquery())
    names: dict[str, str] = {}
    for definition in db.session.scalars(
            select(ProcessDefinition).join(latest, (ProcessDefinition.key == latest.c.key)
                                           & (ProcessDefinition.version == latest.c.version))):
        names.update({pid: info.name for pid, info in processes_of(definition).items()})
    return dict(sorted(names.items(), key=lambda item: item[1]))


def _reachable(processes: dict[str, ProcessInfo], start: str) -> set[str]:
    """The process and every process it calls, however deep: a step in any of them is inside its call activity."""
    seen, todo = set(), [start]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += processes[pid].calls.values() if pid in processes else []
    return seen


def _state(step: HumanTask, at: datetime) -> str:
    if step.status == "completed":
        return "completed"
    return "overdue" if step.due_at is not None and aware(step.due_at) < at else "current"


@dataclass(frozen=True)
class Waiting:
    """A timer the case waits on, as the timers table holds it, named from the definition."""

    process_id: str
    element_id: str
    name: str
    fire_at: datetime


def diagram(definition: ProcessDefinition, process_id: str, steps: Iterable[HumanTask], at: datetime,
            waiting: Iterable[Waiting] = ()) -> Diagram:
    """The BPMN file that holds `process_id`, with the case's steps and waiting timers marked on every process
    drawn in it."""
    processes = processes_of(definition)
    info = processes[process_id]
    drawn = {pid for pid, other in processes.items() if other.file == info.file}
    # A call activity stands for its whole stage: a step anywhere inside marks it.
    calls = {element: _reachable(processes, called)
             for pid in drawn for element, called in processes[pid].calls.items()}
    result = Diagram(process_id, info.name, info.file, definition.files[info.file])

    def targets_of(pid: str, element_id: str) -> list[str]:
        return ([element_id] if pid in drawn else []) + [element for element, reached in calls.items()
                                                          if pid in reached]

    for timer in waiting:
        for element in targets_of(timer.process_id, timer.element_id):
            result.states.setdefault(element, "waiting")
    for step in sorted((s for s in steps if s.status in ("open", "completed")), key=lambda s: s.id):
        state = _state(step, at)
        for element in targets_of(step.process_id, step.element_id):
            if _RANK[state] >= _RANK.get(result.states.get(element, "completed"), 0):
                result.states[element] = state
                result.links[element] = step.id
                if state == "overdue":
                    result.days_overdue[element] = days_overdue(aware(step.due_at), at)
    return result
