"""Runtime service: start instances, complete user tasks, fire timers, deliver messages, cancel."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Row, Select, bindparam, select, text

from processes.engine import audit, forms, pruning, repository, serialization, workflow_sync, write_queue
from processes.engine import bundle as bundles
from processes.engine.access import can_act, can_see_task, visible_case_area, visible_instance
from processes.engine.actors import Actor
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ScriptFunctionError, WorkflowFailed
from processes.engine.hooks import HOOKS, InstanceEnded, StepCompleted
from processes.engine.models import HumanTask, ProcessDefinition, ProcessInstance
from processes.engine.permissions import INSTANCE_CANCEL, INSTANCE_START, MESSAGE_DELIVER
from processes.engine.transaction import atomic
from processes.engine.workflow_sync import Before, CaseRef

CASE_AREA = bundles.CASE_AREA
# One start's data, one step's answers or one message's payload; a form's longest free text is a few thousand words.
DATA_LIMIT_BYTES = 64 * 1024
# Error types whose message names code (a variable, a module, a rule), never values from a child's record.
_SAFE_DETAIL = {"NameError", "ImportError", "ModuleNotFoundError", "ScriptRejected", "SyntaxError", "AttributeError",
                "ScriptLimit", "ScriptAborted", "RecursionError"}


def _engine(step: Callable[[], Any]) -> Any:
    """Run a workflow step, turning a failing script or expression into WorkflowFailed."""
    try:
        return step()
    except SpiffWorkflowException as exc:
        element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
        error_type = getattr(exc, "error_type", None) or type(exc).__name__
        message = str(exc).splitlines()[0] if str(exc) else ""
        # Spiff wraps what a script raised, inside its except block: the original is the context.
        safe = error_type in _SAFE_DETAIL or isinstance(exc.__cause__ or exc.__context__, ScriptFunctionError)
        detail = message if safe else error_type
        line = getattr(exc, "line_number", None)
        raise WorkflowFailed(element, f"{detail} (line {line})" if line else detail) from None


def lock_instance(instance_id: int) -> ProcessInstance | None:
    """Load an instance holding its row lock (PostgreSQL) so changes to one instance queue up."""
    _see_earlier_writes()
    return db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.id == instance_id)
        .with_for_update(of=ProcessInstance).execution_options(populate_existing=True)
    )


def _see_earlier_writes() -> None:
    """A change made inside a larger one (the demo seed, a referral) must read what the earlier ones wrote:
    the locked read refreshes the row, so writes still queued would otherwise be judged stale at commit.
    A change on its own has nothing queued here and keeps its three round trips."""
    write_queue.send_now(db.session)


def _load(instance: ProcessInstance) -> BpmnWorkflow:
    return serialization.load(instance.state, bundles.for_definition(instance.definition), instance.process_id)


def _save(instance: ProcessInstance, workflow: BpmnWorkflow, case: CaseRef, actor: Actor | None, at: datetime,
          before: Before, completed: str | None = None, timer_rows: list[Row] | None = None) -> None:
    """Persist state (finished loop iterations pruned), keep task and timer rows in step, end or continue it.

    A new instance is inserted at once (its rows need its id); an existing one gets one queued,
    version-guarded UPDATE, sent with the rest of the change at commit.
    """
    pruning.prune(workflow)
    state = serialization.dump(workflow)
    ended = workflow.is_completed()
    if instance.id is None:
        instance.state, instance.version = state, 1
        if ended:
            instance.status, instance.ended_at = "completed", at
        db.session.add(instance)
        db.session.flush()
    else:
        write_queue.update_row(instance, versioned=True, state=state,
                               **({"status": "completed", "ended_at": at} if ended else {}))
    if ended:
        workflow_sync.clear(instance, at, before, completed)
        _ended(instance, "completed", at)
        _continue_as_new(instance, workflow, case, actor, at)
    else:
        # due_in and timer expressions are evaluated here, so their failures are workflow errors too.
        _engine(lambda: workflow_sync.sync(instance, workflow, case, at, before, completed, timer_rows))


def _ended(instance: ProcessInstance, status: str, at: datetime) -> None:
    event = InstanceEnded(instance, status, at)
    for listener in HOOKS.instance_ended:
        listener(event)


def _continue_as_new(instance: ProcessInstance, workflow: BpmnWorkflow, case: CaseRef, actor: Actor | None,
                     at: datetime) -> None:
    """An end event marked continue_as_new starts the next cycle as a fresh instance.

    Each cycle's state starts empty, so a step costs the same in a case's fortieth review as in its
    first; the earlier cycles stay visible through the human_tasks and audit tables.
    """
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        target = workflow_sync.properties(task).get(bundles.CONTINUE_PROPERTY)
        if target:
            definition = repository.require_latest(instance.definition.key)
            if target not in bundles.for_definition(definition).specs:
                definition = instance.definition  # a later version dropped the process: stay on ours
            loop_items = bundles.for_definition(definition).loop_items
            carried = {k: v for k, v in task.data.items() if k not in loop_items}
            _start(definition, target, case, actor, carried, at, previous=instance)
            return


def _start(definition: ProcessDefinition, process_id: str, case: CaseRef, actor: Actor | None,
           data: dict[str, Any], at: datetime, previous: ProcessInstance | None = None,
           message: BpmnEvent | None = None) -> ProcessInstance:
    parsed = bundles.for_definition(definition)
    if process_id not in parsed.specs:
        raise NotFound(f"Definition {definition.key} v{definition.version} has no process '{process_id}'.")
    workflow = serialization.new_workflow(parsed, process_id)
    # Diagrams read the case's area (to book its MACE 1 meeting, say); it is set here so no caller can change it.
    data = {**data, CASE_AREA: case.area_code}
    workflow.data.update(data)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    if message is not None:
        _engine(lambda: (workflow.do_engine_steps(), workflow.send_event(message)))
    _engine(workflow.do_engine_steps)
    instance = ProcessInstance(
        case_id=case.id, definition_id=definition.id, definition=definition, process_id=process_id,
        status="running", state="", started_at=at, started_by_id=actor.id if actor else None,
        previous_id=previous.id if previous else None,
    )
    _save(instance, workflow, case, actor, at, Before())
    audit.record(actor, "instance.start", case_id=case.id, instance_id=instance.id,
                 detail=f"{definition.key} v{definition.version} {process_id}")
    return instance


@atomic
def start(actor: Actor, case_id: int, key: str, data: dict[str, Any] | None = None) -> ProcessInstance:
    """Start the latest version of pathway `key` for a case the actor can see, unless one already runs for it."""
    case = CaseRef(case_id, visible_case_area(actor, case_id))
    actor.require(INSTANCE_START, "start a pathway")
    _check_data_keys(data or {}, "data")
    definition = repository.require_latest(key)
    _refuse_computed(definition, data or {}, "data")
    _refuse_second_pathway(case)
    return _start(definition, definition.entry_process_id, case, actor, data or {}, now())


def _refuse_second_pathway(case: CaseRef) -> None:
    """A case runs one main pathway at a time; what a message started (a missing episode) runs beside it."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Two starts at once find no instance yet: the second waits here until the first commits, then sees it.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:case_id)"), {"case_id": case.id})
    running = running_pathway(case.id)
    if running is not None:
        raise Conflict(f"Case {case.id} already has a running pathway (instance {running}); nothing was started.")


def running_pathway(case_id: int) -> int | None:
    """The id of the case's running main pathway, if one runs: not what a message started beside it."""
    running = db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.case_id == case_id, ProcessInstance.status == "running")
    ).all()
    return next((i.id for i in running
                 if i.process_id not in bundles.for_definition(i.definition).message_starts.values()), None)


def _refuse_computed(definition: ProcessDefinition, data: dict[str, Any], field: str) -> None:
    """Data a caller supplies may not set what the pathway works out itself (where a cycle starts, a booking)."""
    owned = sorted(set(data) & (bundles.for_definition(definition).computed | {CASE_AREA}))
    if owned:
        raise InvalidInput("Nothing was started.", {field: [f"Set by the pathway itself: {', '.join(owned)}."]})


def _check_data_keys(data: dict[str, Any], field: str) -> None:
    """Names starting with '_' are reserved for the script sandbox's guards; and what one start, answer or message
    brings must stay small, as every later step of the cycle carries it in the instance's saved state."""
    reserved = sorted(k for k in data if not isinstance(k, str) or k.startswith("_"))
    if reserved:
        raise InvalidInput("Data names may not start with '_'.", {field: [f"Rename: {', '.join(map(str, reserved))}."]})
    if len(json.dumps(data, default=str)) > DATA_LIMIT_BYTES:
        raise InvalidInput("Nothing was saved.", {field: [f"Keep this to {DATA_LIMIT_BYTES // 1024} KB of JSON: "
                                                          "attach long documents elsewhere and refer to them."]})


@cache
def _task_and_instance_locked() -> Select:
    """A task and its instance by the task's id, both rows locked; built once, as every step runs it."""
    task_id = bindparam("task_id")
    return (
        select(HumanTask, ProcessInstance).join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
        # Naming the instance by key too keeps the planner on primary keys even with stale statistics,
        # where it was seen to merge-join every instance row (100 ms a completion with 100,000 cases).
        .where(HumanTask.id == task_id,
               ProcessInstance.id == select(HumanTask.instance_id).where(HumanTask.id == task_id).scalar_subquery())
        .with_for_update(of=(ProcessInstance, HumanTask))
        .execution_options(populate_existing=True)
    )


def _task_for_change(actor: Actor, task_id: int, also_by: str | None = None) -> tuple[HumanTask, ProcessInstance]:
    """The task and its instance, read in one statement that locks both rows.

    Locking the task row too makes a concurrent claim or reassign wait, and on PostgreSQL it means the
    task's status is re-read after any wait rather than taken from before it.
    """
    _see_earlier_writes()
    row = db.session.execute(_task_and_instance_locked(), {"task_id": task_id}).first()
    allowed = row is not None and (can_see_task(actor, row.HumanTask)
                                   or (actor.may(also_by) and row.HumanTask.area_code in actor.areas))
    if not allowed:
        raise NotFound(f"No task {task_id}.")
    task, instance = row
    if instance.status != "running":
        raise Conflict(f"The pathway of task {task_id} is {instance.status}; your answers were not saved.")
    if task.status != "open":
        raise Conflict(f"Task {task_id} was already {task.status} on {aware(task.completed_at).isoformat()}; "
                       "your answers were not saved.", at=aware(task.completed_at))
    if task.assignee_id not in (None, actor.id):
        raise Conflict(f"Task {task_id} is assigned to someone else; ask a manager to reassign it.")
    if not can_act(actor, task, also_by):
        raise Forbidden(f"Task {task_id} is for the role {task.role}.", (task.role,), f"act on task {task_id}")
    return task, instance


@atomic
def complete_task(actor: Actor, task_id: int, data: dict[str, Any], also_by: str | None = None) -> HumanTask:
    """Validate the form data, complete the user task and run the workflow on to its next wait.

    `also_by` names a permission whose holders may complete it besides its own role: recording a meeting's
    outcome, say.
    """
    task, instance = _task_for_change(actor, task_id, also_by)
    _check_data_keys(data, "data")
    forms.validate(instance.definition, task.form, data, task.area_code)
    workflow = _load(instance)
    before = Before.of(workflow)
    spiff_task = workflow_sync.ready_user_tasks(workflow).get(task.spiff_task_id)
    if spiff_task is None:
        # Another user's completion committed between our read and our lock.
        raise Conflict(f"Task {task_id} was already completed by someone else; your answers were not saved.")
    at = now()
    # The form's answers are what was submitted now: an optional answer left out this time must not keep
    # the one given in an earlier cycle of the case.
    own_fields = forms.fields(instance.definition, task.form)
    for name in own_fields:
        spiff_task.data.pop(name, None)
    spiff_task.data.update(data)
    _engine(lambda: (spiff_task.run(), workflow.do_engine_steps()))
    # Kept on the row as the task left them (a post-script may have changed them): the saved state will not
    # keep the finished task once its loop comes round again.
    answers = {name: spiff_task.data[name] for name in own_fields if name in spiff_task.data}
    write_queue.update_row(task, status="completed", completed_at=at, completed_by_id=actor.id,
                           assignee_id=task.assignee_id or actor.id, answers=answers)
    event = StepCompleted(actor, instance.definition, task, data, at)
    for listener in HOOKS.step_completed:
        listener(event)
    _save(instance, workflow, CaseRef(task.case_id, task.area_code), actor, at, before, completed=task.spiff_task_id)
    audit.record(actor, "task.complete", case_id=task.case_id, instance_id=instance.id, human_task_id=task.id,
                 detail=task.element_id)
    return task


@atomic
def fire_due_timers(instance_id: int) -> list[str]:
    """Fire the instance's timers that are due now; returns the element ids that fired.

    Safe to call twice: a second call finds nothing due and changes nothing. The instance, its case's
    area and its timer rows are read in two statements, as this runs for every timer a sweep finds.
    """
    instance = db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    )
    if instance is None:
        raise NotFound(f"No process instance {instance_id}.")
    at = now()
    timer_rows = workflow_sync.timer_rows(instance.id)
    due = [t for t in timer_rows if aware(t.fire_at) <= at]
    if instance.status != "running" or not due:
        return []
    workflow = _load(instance)
    before = Before.of(workflow)
    _engine(lambda: (workflow.refresh_timers(), workflow.do_engine_steps()))
    still_waiting = workflow_sync.waiting_timers(workflow)
    fired = [t.element_id for t in due if t.spiff_task_id not in still_waiting]
    case = CaseRef(instance.case_id, HOOKS.area_of(instance.case_id))
    _save(instance, workflow, case, None, at, before, timer_rows=timer_rows)
    for element_id in fired:
        audit.record(None, "timer.fire", case_id=instance.case_id, instance_id=instance.id, detail=element_id)
    return fired


@atomic
def deliver_message(actor: Actor, case_id: int, name: str, payload: dict[str, Any] | None = None,
                    key: str | None = None) -> list[ProcessInstance]:
    """Deliver a message (e.g. "missing_episode") to a case: to the instances waiting for it, or else
    by starting the bundle's process whose start event listens for it. Returns the instances moved on."""
    case = CaseRef(case_id, visible_case_area(actor, case_id))
    actor.require(MESSAGE_DELIVER, "deliver a message to a pathway")
    _check_data_keys(payload or {}, "payload")
    definition = repository.require_latest(key or _case_pathway_key(case, name))
    forms.validate_message(definition, name, payload or {})
    at = now()
    event = BpmnEvent(MessageEventDefinition(name), payload or {})
    running = db.session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.case_id == case.id, ProcessInstance.status == "running")
        .order_by(ProcessInstance.id)
    ).all()
    moved = []
    for instance_id in running:
        instance = lock_instance(instance_id)
        if instance.status != "running":
            continue  # ended while we waited for its lock
        workflow = _load(instance)
        before = Before.of(workflow)
        try:
            workflow.send_event(event)
        except WorkflowException:
            continue  # this instance is not waiting for the message
        _engine(workflow.do_engine_steps)
        _save(instance, workflow, case, actor, at, before)
        moved.append(instance)
    if not moved:
        moved.append(_start_by_message(actor, case, name, event, definition, at))
    audit.record(actor, "message.deliver", case_id=case.id, detail=name)
    return moved


def _case_pathway_key(case: CaseRef, message: str) -> str:
    latest = db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.case_id == case.id).order_by(ProcessInstance.id.desc()))
    if latest is None:
        raise Conflict(f"Case {case.id} has no pathway yet, so nothing can receive '{message}'.")
    return latest.definition.key


def _start_by_message(actor: Actor, case: CaseRef, name: str, event: BpmnEvent, definition: ProcessDefinition,
                      at: datetime) -> ProcessInstance:
    process_id = bundles.for_definition(definition).message_starts.get(name)
    if process_id is None:
        raise Conflict(f"Nothing in case {case.id} is waiting for '{name}' and no process of "
                       f"'{definition.key}' starts with it.")
    return _start(definition, process_id, case, actor, {}, at, message=event)


@atomic
def set_variables(actor: Actor | None, instance_id: int, variables: dict[str, Any], detail: str) -> ProcessInstance:
    """Change a running instance's data (as Camunda's setVariables does), then re-evaluate what depends on it.

    Every open step and waiting timer sees the new values; timers that wait for a date, and the due
    times of open steps, are worked out again from them. Used to move a case to another MACE 1 meeting.
    """
    _check_data_keys(variables, "variables")
    instance = lock_instance(instance_id)
    if instance is None:
        raise NotFound(f"No process instance {instance_id}.")
    if instance.status != "running":
        raise Conflict(f"Instance {instance_id} is already {instance.status}.")
    workflow = _load(instance)
    before = Before.of(workflow)
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        task.data.update(variables)
        if task.parent is not None:
            # A waiting task takes its data from its parent again whenever Spiff updates it (as a timer is
            # checked), so the parent must carry the new values too.
            task.parent.data.update(variables)
    for task in workflow_sync.waiting_timers(workflow).values():
        if isinstance(task.task_spec.event_definition, TimeDateEventDefinition):
            task.internal_data.pop("event_value", None)  # Spiff keeps the date it first worked out
    at = now()
    _engine(lambda: (workflow.refresh_timers(), workflow.do_engine_steps()))
    case = CaseRef(instance.case_id, HOOKS.area_of(instance.case_id))
    _save(instance, workflow, case, actor, at, before)
    _engine(lambda: workflow_sync.refresh_due(instance, workflow, at))
    audit.record(actor, "instance.variables", case_id=instance.case_id, instance_id=instance.id, detail=detail)
    return instance


@atomic
def cancel(actor: Actor, instance_id: int, reason: str) -> ProcessInstance:
    """Stop an instance: its open tasks are cancelled and its timers removed."""
    instance = visible_instance(actor, lock_instance(instance_id), instance_id)
    actor.require(INSTANCE_CANCEL, "cancel a pathway")
    if instance.status != "running":
        raise Conflict(f"Instance {instance_id} is already {instance.status}.")
    at = now()
    write_queue.update_row(instance, versioned=True, status="cancelled", ended_at=at)
    workflow_sync.clear(instance, at, Before.of(_load(instance)))
    _ended(instance, "cancelled", at)
    audit.record(actor, "instance.cancel", case_id=instance.case_id, instance_id=instance.id, detail=reason[:255])
    return instance
