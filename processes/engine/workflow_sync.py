"""Keeps the human_tasks and timers tables in step with a workflow after every run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Row, delete, insert, select, update

from processes.engine import bundle as bundles
from processes.engine import write_queue
from processes.engine.clock import LOCAL, UTC, aware
from processes.engine.db import db
from processes.engine.errors import WorkflowFailed
from processes.engine.hooks import HOOKS, StepOpened, Watched
from processes.engine.models import HumanTask, ProcessInstance, Timer

_TASKS, _TIMERS = HumanTask.__table__, Timer.__table__
_INSERT_TASK, _INSERT_TIMER = insert(_TASKS).inline(), insert(_TIMERS).inline()


def properties(task: Task) -> dict[str, str]:
    return getattr(task.task_spec, "extensions", {}).get("properties", {})


def ready_user_tasks(workflow: BpmnWorkflow) -> dict[str, Task]:
    return {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


@contextmanager
def _converting(task: Task, what: str) -> Iterator[None]:
    """A value of the wrong kind fails the step as a workflow error naming the element, never the value
    (it could be a child's details), so it is undone, reported and, in a background job, an incident."""
    try:
        yield
    except SpiffWorkflowException:
        raise
    except (ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
        kind = type(exc).__name__
        raise WorkflowFailed(task.task_spec.bpmn_id,
                             f"the {what} is not a date, datetime or ISO 8601 duration ({kind})") from None


def timer_fire_at(task: Task) -> datetime | None:
    """When a waiting timer task fires, from the value Spiff fixed when the timer started."""
    with _converting(task, "timer expression"):
        return _timer_fire_at(task)


def _timer_fire_at(task: Task) -> datetime | None:
    definition = task.task_spec.event_definition
    value = task._get_internal_data("event_value")
    if value is None:
        definition.has_fired(task)
        value = task._get_internal_data("event_value")
    if isinstance(definition, CycleTimerEventDefinition):
        fire_at = datetime.fromisoformat(value["next"]) if value["cycles"] != 0 else None
    elif isinstance(definition, DurationTimerEventDefinition):
        fire_at = TimerEventDefinition.get_datetime(value)
    else:
        fire_at = TimerEventDefinition.parse_time_or_duration(value)
    # SQLite keeps wall-clock time without its offset, so everything is stored in UTC.
    return aware(fire_at).astimezone(UTC) if fire_at else None


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, Task]:
    return {
        str(t.id): t for t in workflow.get_tasks(state=TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
    }


def _due_at(task: Task, created: datetime) -> datetime | None:
    expression = properties(task).get(bundles.DUE_PROPERTY)
    if not expression:
        return None
    value: Any = task.workflow.script_engine.evaluate(task, expression)
    with _converting(task, "due_in value"):
        return _as_due_time(value, created)


def _as_due_time(value: Any, created: datetime) -> datetime:
    """A due time from what `due_in` gave: a duration from when the step opened, a date (the end of that
    day, local time), or a date and time (local time unless it names its offset)."""
    if isinstance(value, str) and value.upper().startswith("P"):
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return created + TimerEventDefinition.get_timedelta_from_start(parsed, created)
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, timedelta):
        return created + value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=LOCAL)).astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), LOCAL).astimezone(UTC)
    raise TypeError(type(value).__name__)


class CaseRef(NamedTuple):
    """The two facts about a case that task rows copy: its id and area."""

    id: int
    area_code: str


@dataclass(frozen=True)
class Before:
    """The ready user tasks and waiting timers of the state as last saved.

    The tables mirror the saved state exactly, so knowing it spares reading them back on every step.
    """

    ready: frozenset[str] = frozenset()
    timers: frozenset[str] = frozenset()
    watched: tuple[Any, ...] = ()  # what each registered watcher read, in order

    @classmethod
    def of(cls, workflow: BpmnWorkflow) -> Before:
        ready, timers = ready_user_tasks(workflow), waiting_timers(workflow)
        return cls(frozenset(ready), frozenset(timers), _watch([*ready.values(), *timers.values()]))


def _watch(open_steps: list[Task]) -> tuple[Any, ...]:
    return tuple(watcher.read(open_steps) for watcher in HOOKS.watchers)


def loop_item(task: Task) -> Any:
    """The item a step run once per item (each agency's view, say) runs for; None for any other step."""
    spec = task.parent.task_spec if task.parent is not None else None
    if not isinstance(spec, MultiInstanceTask) or spec.input_item is None:
        return None
    return task.data.get(spec.input_item.bpmn_id)


def step_name(task: Task) -> str:
    """The step's name; one of a step run once per item names its item too (a listener may name it better)."""
    name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
    item = loop_item(task)
    return f"{name}: {item}"[:255] if item not in (None, "") else name


def _cancel_rows(instance: ProcessInstance, spiff_ids: set[str], at: datetime) -> None:
    if spiff_ids:
        write_queue.queue(
            update(_TASKS).where(_TASKS.c.instance_id == instance.id, _TASKS.c.spiff_task_id.in_(spiff_ids),
                                 _TASKS.c.status == "open")
            .values(status="cancelled", completed_at=at)
        )


def sync(instance: ProcessInstance, workflow: BpmnWorkflow, case: CaseRef, at: datetime, before: Before,
         completed: str | None = None, timers: list[Row] | None = None) -> None:
    """Open rows for newly ready user tasks, cancel rows whose task left the ready state; same for timers."""
    ready = ready_user_tasks(workflow)
    _cancel_rows(instance, set(before.ready - ready.keys()) - {completed}, at)
    new_rows = [_opened(instance, case, spiff_id, task, at) for spiff_id, task in ready.items()
                if spiff_id not in before.ready]
    if new_rows:
        write_queue.queue(_INSERT_TASK, new_rows)
    waiting = waiting_timers(workflow)
    if before.timers or waiting:
        _sync_timers(instance, waiting, timer_rows(instance.id) if timers is None else timers)
    if HOOKS.watchers:
        now_watched = _watch([*ready.values(), *waiting.values()])
        old_watched = before.watched or (None,) * len(now_watched)
        for watcher, old, new in zip(HOOKS.watchers, old_watched, now_watched, strict=True):
            if new != old:
                watcher.changed(Watched(instance, case.id, case.area_code, old, new, at))


def _opened(instance: ProcessInstance, case: CaseRef, spiff_id: str, task: Task, at: datetime) -> dict[str, Any]:
    """The row of a newly ready user task, as the step-opened listeners leave it."""
    due = _due_at(task, at)
    escalates = properties(task).get(bundles.ESCALATE_PROPERTY) == "true"
    row = {
        "instance_id": instance.id, "case_id": case.id, "area_code": case.area_code, "spiff_task_id": spiff_id,
        "element_id": task.task_spec.bpmn_id, "process_id": task.workflow.spec.name, "name": step_name(task),
        "role": HOOKS.lane_role(task.task_spec.lane) or "", "form": properties(task).get(bundles.FORM_PROPERTY),
        "assignee_id": None, "group_code": None, "status": "open", "created_at": at, "due_at": due,
        "escalates": escalates, "next_alert_at": HOOKS.alert_time(due, at, at, escalates, None),
    }
    for listener in HOOKS.step_opened:
        listener(StepOpened(instance, task, row, at))
    return row


def refresh_due(instance: ProcessInstance, workflow: BpmnWorkflow, at: datetime) -> None:
    """Work out the due time of each open step again, after the data its `due_in` reads has changed."""
    ready = ready_user_tasks(workflow)
    rows = db.session.execute(
        select(_TASKS.c.id, _TASKS.c.spiff_task_id, _TASKS.c.created_at, _TASKS.c.due_at, _TASKS.c.escalates,
               _TASKS.c.alerts_raised).where(_TASKS.c.instance_id == instance.id, _TASKS.c.status == "open"))
    for row in rows:
        task = ready.get(row.spiff_task_id)
        if task is None:
            continue
        due = _due_at(task, aware(row.created_at))
        if due != aware(row.due_at):
            write_queue.queue(update(_TASKS).where(_TASKS.c.id == row.id).values(
                due_at=due, next_alert_at=HOOKS.alert_time(due, aware(row.created_at), at, row.escalates,
                                                            row.alerts_raised)))


def timer_rows(instance_id: int) -> list[Row]:
    """The instance's timer rows as stored: id, spiff_task_id, element_id, fire_at."""
    return list(db.session.execute(
        select(_TIMERS.c.id, _TIMERS.c.spiff_task_id, _TIMERS.c.element_id, _TIMERS.c.fire_at)
        .where(_TIMERS.c.instance_id == instance_id)))


def _sync_timers(instance: ProcessInstance, waiting: dict[str, Task], rows: list[Row]) -> None:
    # Matched timers are popped from a copy: the caller hands the same map to the watchers afterwards, and
    # a case waiting only at a timer already stored (a MACE 1 meeting being moved) must still be seen there.
    waiting = dict(waiting)
    for timer in rows:
        task = waiting.pop(timer.spiff_task_id, None)
        fire_at = timer_fire_at(task) if task is not None else None
        if fire_at is None:
            write_queue.queue(delete(_TIMERS).where(_TIMERS.c.id == timer.id))
        elif aware(timer.fire_at) != fire_at:
            write_queue.queue(update(_TIMERS).where(_TIMERS.c.id == timer.id).values(fire_at=fire_at))
    new_rows = [{"instance_id": instance.id, "spiff_task_id": spiff_id, "element_id": task.task_spec.bpmn_id,
                 "fire_at": fire_at}
                for spiff_id, task in waiting.items() if (fire_at := timer_fire_at(task)) is not None]
    if new_rows:
        write_queue.queue(_INSERT_TIMER, new_rows)


def clear(instance: ProcessInstance, at: datetime, before: Before, completed: str | None = None) -> None:
    """An ended instance has no open tasks and no timers."""
    _cancel_rows(instance, set(before.ready) - {completed}, at)
    if before.timers:
        write_queue.queue(delete(_TIMERS).where(_TIMERS.c.instance_id == instance.id))
