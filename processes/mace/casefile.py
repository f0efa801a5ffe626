"""What the web pages show of one child's case: summary, steps, timeline, recorded answers, the current plan,
persons and locations of concern, what the case waits for (its timers and booked MACE 1 meeting) and the pathway
diagrams. Answers are read from the steps' rows: no page deserializes a workflow."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select

from processes.engine import audit, forms, runtime
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance, Timer
from processes.engine.transaction import atomic
from processes.identity.models import Area, User
from processes.mace import diagrams, plan_actions, timescales
from processes.mace.cases import visible_case
from processes.mace.contract import CONCERN_FIELDS, PLAN_FIELD, REVIEW_STEP
from processes.mace.models import Booking, Case, Meeting, PlanAction
from processes.mace.working_days import UK

# Reads, not changes: counted on the case page rather than listed in its timeline.
# Reads of the record, and the lists, pages and exports the child was shown in: listed apart from the changes.
VIEW_ACTIONS = ("case.view", "case.list", "case.history.view", "task.view", "instance.view", "dashboard.view",
                "dashboard.export", "meeting.view", "meeting.item.view", "meeting.summary.view", "audit.search",
                "audit.export", "notification.list", "incident.list")
SEEN_SHOWN = 50  # the latest times the child was seen, on the case page; the audit search has them all


@dataclass
class Answer:
    """What one completed step recorded, limited to its own form's fields."""

    step: HumanTask
    title: str
    schema: dict[str, Any]
    ui_schema: dict[str, Any]
    data: dict[str, Any]


@dataclass
class Concern:
    """A person or location of concern as recorded, with the schema of its item to show it by."""

    value: Any
    schema: dict[str, Any]
    step: HumanTask


@dataclass
class TimelineEntry:
    at: Any
    who: str | None
    action: str
    step: HumanTask | None
    detail: str | None = None


@dataclass(frozen=True)
class BookedMeeting:
    """The MACE 1 meeting the case is booked onto, and the day its plan must be ready by."""

    meeting_id: int | None
    starts_at: datetime
    plan_deadline: date
    kind: str  # new or review


@dataclass
class CaseFile:
    case: Case
    area_name: str
    steps: list[HumanTask]
    people: dict[int, str]
    answers: list[Answer]
    timeline: list[TimelineEntry]
    views: int
    seen: list[TimelineEntry] = field(default_factory=list)  # the latest reads and appearances, newest first
    plan: Answer | None = None
    concerns: dict[str, list[Concern]] = field(default_factory=dict)
    diagram: diagrams.Diagram | None = None
    main_diagram: diagrams.Diagram | None = None
    stages: dict[str, str] = field(default_factory=dict)  # process id -> name, of the stages with open steps
    pathway_running: bool = False  # a new referral waits until the running pathway ends
    waiting: list[diagrams.Waiting] = field(default_factory=list)  # its running pathway's timers, soonest first
    booking: BookedMeeting | None = None
    plan_actions: list[PlanAction] = field(default_factory=list)


def steps_of(case_id: int) -> list[HumanTask]:
    return list(db.session.scalars(select(HumanTask).where(HumanTask.case_id == case_id).order_by(HumanTask.id)))


def people_named(user_ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {user_id: name for user_id, name in
            db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))}


def answers_of(case_id: int, steps: list[HumanTask]) -> list[Answer]:
    """The recorded answers of the case's completed steps, oldest first, from the rows the steps left."""
    done = {s.id: s for s in steps if s.status == "completed" and s.form}
    if not done:
        return []
    recorded = db.session.execute(
        select(HumanTask.id, HumanTask.answers, ProcessDefinition)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(HumanTask.case_id == case_id, HumanTask.id.in_(done)))
    answers = []
    for step_id, data, definition in recorded:
        step = done[step_id]
        schema = forms.schema_for(definition, step.form)
        title = schema.get("title") or step.name
        if step.group_code:  # one agency's answers among several: say whose
            config = timescales.for_definition(definition)
            agencies = config.core_agencies if config is not None else {}
            title = f"{title} — {agencies.get(step.group_code, step.group_code)}"
        answers.append(Answer(step, title, schema, forms.ui_schema_for(definition, step.form), data or {}))
    return sorted(answers, key=lambda a: (a.step.completed_at or a.step.created_at, a.step.id))


def _concerns(answers: list[Answer]) -> dict[str, list[Concern]]:
    """Every person and location of concern recorded, newest first, each once."""
    found: dict[str, list[Concern]] = {name: [] for name in CONCERN_FIELDS}
    seen: set[tuple[str, str]] = set()
    for answer in reversed(answers):
        for name in CONCERN_FIELDS:
            items = answer.data.get(name)
            item_schema = answer.schema.get("properties", {}).get(name, {}).get("items", {})
            for item in items if isinstance(items, list) else []:
                key = (name, json.dumps(item, sort_keys=True))
                if key not in seen:
                    seen.add(key)
                    found[name].append(Concern(item, item_schema, answer.step))
    return found


def _seen(case_id: int) -> list[TimelineEntry]:
    """The latest times anyone read the record or was shown the child in a list, page or export."""
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action.in_(VIEW_ACTIONS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(SEEN_SHOWN))
    return [TimelineEntry(e.at, e.user_id, e.action, None, e.detail) for e in events]


def _timeline(actor: Actor, case_id: int, steps: list[HumanTask]) -> tuple[list[TimelineEntry], int, set[int]]:
    """Who did what and when: the case's audited changes and the opening of each step, newest first."""
    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action.not_in(VIEW_ACTIONS))
        .order_by(AuditEvent.at, AuditEvent.id)))
    views = db.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.case_id == case_id, AuditEvent.action.in_(VIEW_ACTIONS))) or 0
    by_id = {s.id: s for s in steps}
    user_ids = {e.user_id for e in events}
    entries = [TimelineEntry(e.at, e.user_id, e.action, by_id.get(e.human_task_id), audit.reason(actor, e))
               for e in events]
    entries += [TimelineEntry(s.created_at, None, "task.open", s) for s in steps]
    entries.sort(key=lambda e: (e.at, 0 if e.action == "task.open" else 1), reverse=True)
    return entries, views, user_ids


def waiting_on(case_id: int) -> list[diagrams.Waiting]:
    """The timers the case's running instances wait on, soonest first, each named from its definition."""
    rows = db.session.execute(
        select(Timer.element_id, Timer.fire_at, ProcessInstance.definition_id)
        .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .where(ProcessInstance.case_id == case_id, ProcessInstance.status == "running")
        .order_by(Timer.fire_at, Timer.id)).all()
    found = []
    for element_id, fire_at, definition_id in rows:
        elements = diagrams.elements_of(db.session.get(ProcessDefinition, definition_id))
        process_id, name = elements.get(element_id, ("", diagrams.humanise(element_id)))
        found.append(diagrams.Waiting(process_id, element_id, name, fire_at))
    return found


def booked_meeting(case_id: int) -> BookedMeeting | None:
    """The next MACE 1 meeting the case is booked onto, from today (UK) on: a meeting under way still counts."""
    today = datetime.combine(now().astimezone(UK).date(), time(), UK)
    row = db.session.execute(
        select(Booking, Meeting.id).outerjoin(Meeting, (Meeting.area_code == Booking.area_code)
                                              & (Meeting.starts_at == Booking.meeting_at))
        .where(Booking.case_id == case_id, Booking.status == "booked", Booking.meeting_at >= today)
        .order_by(Booking.meeting_at).limit(1)).first()
    if row is None:
        return None
    booking, meeting_id = row
    return BookedMeeting(meeting_id, booking.meeting_at, booking.plan_deadline, booking.kind)


def _diagrams(steps: list[HumanTask], process_id: str | None,
              waiting: list[diagrams.Waiting]) -> tuple[diagrams.Diagram | None, diagrams.Diagram | None,
                                                        dict[str, str]]:
    """The diagram of the chosen (else the most pressing open, else the latest) step's stage, and the main one."""
    if not steps:
        return None, None, {}
    open_steps = sorted((s for s in steps if s.status == "open"),
                        key=lambda s: (s.due_at is None, s.due_at or s.created_at, s.id))
    chosen = next((s for s in open_steps if s.process_id == process_id), None) or \
        (open_steps[0] if open_steps else steps[-1])
    instance = db.session.get(ProcessInstance, chosen.instance_id)
    definition = instance.definition
    processes = diagrams.processes_of(definition)
    at = now()
    stages = {s.process_id: processes[s.process_id].name for s in open_steps if s.process_id in processes}
    current = diagrams.diagram(definition, chosen.process_id, steps, at, waiting) \
        if chosen.process_id in processes else None
    entry = definition.entry_process_id
    main = None
    if entry in processes and (current is None or processes[entry].file != current.file):
        main = diagrams.diagram(definition, entry, steps, at, waiting)
    return current, main, stages


@atomic
def case_file(actor: Actor, case_id: int, process_id: str | None = None) -> CaseFile:
    """Everything the case page shows (404 for another area's case); the read is audited."""
    case = visible_case(actor, case_id)
    audit.record(actor, "case.view", case_id=case.id)
    steps = steps_of(case.id)
    answers = answers_of(case.id, steps)
    timeline, views, user_ids = _timeline(actor, case.id, steps)
    seen = _seen(case.id)
    people = people_named(user_ids | {e.who for e in seen} | {s.assignee_id for s in steps}
                          | {s.completed_by_id for s in steps})
    for entry in timeline + seen:
        entry.who = people.get(entry.who) if entry.who is not None else None
    plans = [a for a in answers if PLAN_FIELD in a.data]
    waiting = waiting_on(case.id)
    current, main, stages = _diagrams(steps, process_id, waiting)
    return CaseFile(case, db.session.get(Area, case.area_code).name, steps, people, answers, timeline, views, seen,
                    plans[-1] if plans else None, _concerns(answers), current, main, stages,
                    runtime.running_pathway(case.id) is not None, waiting, booked_meeting(case.id),
                    plan_actions.for_case(case.id))


@atomic
def case_named(actor: Actor, case_id: int) -> Case:
    """The case a page about it names the child of (404 for another area's case); the read is audited."""
    case = visible_case(actor, case_id)
    audit.record(actor, "case.view", case_id=case.id)
    return case


@dataclass
class TaskContext:
    """Beside a task's form: the child, and what earlier steps of the case recorded."""

    case: Case
    area_name: str
    answers: list[Answer]
    people: dict[int, str]
    own: Answer | None = None  # this task's answers, once it is completed
    plan_actions: list[PlanAction] = field(default_factory=list)  # on the review's page: where each action stands


def task_context(actor: Actor, task: HumanTask) -> TaskContext:
    """For a task the actor can already see (tasks.get_task audits the read, naming the case)."""
    case = db.session.get(Case, task.case_id)
    steps = steps_of(case.id)
    answers = answers_of(case.id, steps)
    people = people_named({s.completed_by_id for s in steps} | {task.assignee_id, task.completed_by_id})
    return TaskContext(case, db.session.get(Area, case.area_code).name,
                       [a for a in answers if a.step.id != task.id], people,
                       next((a for a in answers if a.step.id == task.id), None),
                       plan_actions.for_case(case.id) if task.element_id == REVIEW_STEP else [])
