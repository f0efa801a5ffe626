"""MACE 1 meetings: generated ahead, agendas that build themselves from bookings, moves, attendance and outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy import func, select

from processes.engine import audit, repository, runtime
from processes.engine.actors import Actor
from processes.engine.clock import UTC, aware, now
from processes.engine.db import db, insert_once
from processes.engine.errors import Conflict, InvalidInput, NotFound
from processes.engine.models import HumanTask, ProcessInstance
from processes.engine.transaction import atomic
from processes.identity.models import Area
from processes.mace import settings
from processes.mace import timescales as timescale_config
from processes.mace.contract import BOOKING_VARIABLE, MAIN_PROCESS, OUTCOME_STEP, PLAN_STEP
from processes.mace.models import Attendance, Booking, BookingMove, Case, CaseFact, Meeting
from processes.mace.policy import MEETING_MANAGE, MEETING_RECORD_OUTCOME, MEETING_VIEW
from processes.mace.timescales import Timescales
from processes.mace.working_days import UK

ATTENDANCE = ("present", "deputy", "absent")


# How many of the area's later meetings business support may choose from when moving a case.
MOVE_CHOICES = 6


def pathway_timescales() -> Timescales:
    """The timescales and MACE 1 calendar of the latest deployed pathway."""
    definition = repository.require_latest(settings.current().pathway_key)
    timescales = timescale_config.for_definition(definition)
    if timescales is None:
        raise NotFound(f"The pathway '{definition.key}' has no timescales.json, so it has no MACE 1 calendar.")
    return timescales


def _visible_meeting(actor: Actor, meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or meeting.area_code not in actor.areas:
        if meeting is not None:
            audit.record_denied(actor, "meeting.denied", detail=f"meeting {meeting_id}")
        raise NotFound(f"No MACE 1 meeting {meeting_id}.")
    return meeting


AHEAD_WEEKS = 13
RECENT_DAYS = 7  # meetings this recent stay listed: their outcomes may still be being recorded


def calendar_short(weeks: int = 8) -> bool:
    """Whether the meetings generated reach less than `weeks` ahead (the sweep's cue to generate more)."""
    if repository.latest_version(settings.current().pathway_key) is None:
        return False
    latest = db.session.scalar(select(func.max(Meeting.starts_at)))
    return latest is None or aware(latest) < now() + timedelta(weeks=weeks)


@atomic
def generate_ahead(weeks: int = AHEAD_WEEKS) -> int:
    """Create each area's meetings for the coming weeks from the cadence configured; returns how many are new."""
    if repository.latest_version(settings.current().pathway_key) is None:
        return 0  # nothing deployed yet: no calendar to follow
    timescales, today = pathway_timescales(), now().astimezone(UK).date()
    horizon = today + timedelta(weeks=weeks)
    existing = {(area, aware(starts)) for area, starts in db.session.execute(
        select(Meeting.area_code, Meeting.starts_at).where(Meeting.starts_at >= datetime.combine(today, time(0), UK)))}
    created = 0
    for area in db.session.scalars(select(Area.code)):
        for day in timescales.meeting_days(area, today):
            if day > horizon:
                break
            starts_at = timescales.meeting_at(area, day)
            if (area, starts_at) in existing:
                continue
            db.session.execute(insert_once(Meeting.__table__, {
                "area_code": area, "starts_at": starts_at, "plan_deadline": timescales.plan_deadline(day),
                "minutes_per_case": timescales.minutes_per_case(area)}, ["area_code", "starts_at"]))
            created += 1
    return created


@dataclass
class MeetingSummary:
    meeting: Meeting
    items: int


@atomic
def upcoming(actor: Actor, weeks: int = 13) -> list[MeetingSummary]:
    """The actor's areas' meetings of the last week (outcomes may still be being recorded) and the coming
    `weeks`, soonest first, with how many cases each has booked. Audited."""
    actor.require(MEETING_VIEW, "see MACE 1 meetings")
    audit.record(actor, "meetings.view")
    today = datetime.combine(now().astimezone(UK).date() - timedelta(days=RECENT_DAYS), time(0), UK)
    booked = (select(Booking.area_code, Booking.meeting_at, func.count().label("n")).where(Booking.status == "booked")
              .group_by(Booking.area_code, Booking.meeting_at).subquery())
    rows = db.session.execute(
        select(Meeting, func.coalesce(booked.c.n, 0))
        .outerjoin(booked, (booked.c.area_code == Meeting.area_code) & (booked.c.meeting_at == Meeting.starts_at))
        .where(Meeting.area_code.in_(actor.areas), Meeting.starts_at >= today,
               Meeting.starts_at < today + timedelta(weeks=weeks, days=RECENT_DAYS))
        .order_by(Meeting.starts_at, Meeting.area_code))
    return [MeetingSummary(meeting, count) for meeting, count in rows]


@dataclass
class AgendaItem:
    booking: Booking
    child_name: str
    starts_at: datetime
    minutes: int | None
    plan_ready: bool
    outcome_task_id: int | None  # the open MACE 1 outcome step, once the meeting has started
    outcome_recorded: bool


@dataclass
class Agenda:
    meeting: Meeting
    items: list[AgendaItem]
    moved_out: list[tuple[Booking, BookingMove]]


def _deadline_end(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), UK).astimezone(UTC)


def _shown_agenda(actor: Actor, meeting_id: int, action: str) -> Agenda:
    """The agenda, with one audit row per child it names (those booked and those moved out)."""
    actor.require(MEETING_VIEW, "see MACE 1 agendas")
    built = _build(_visible_meeting(actor, meeting_id))
    shown = [i.booking.case_id for i in built.items] + [b.case_id for b, _ in built.moved_out]
    audit.record_each(actor, action, shown, detail=f"meeting {meeting_id}")
    return built


@atomic
def agenda(actor: Actor, meeting_id: int) -> Agenda:
    """The meeting's agenda, built from its bookings: new cases, then reviews, each with its time slot."""
    return _shown_agenda(actor, meeting_id, "meeting.view")


@atomic
def agenda_item(actor: Actor, meeting_id: int, booking_id: int) -> tuple[Agenda, AgendaItem]:
    """One child's item of the agenda (to move it, or record its outcome); only that child's view is audited."""
    actor.require(MEETING_VIEW, "see MACE 1 agendas")
    built = _build(_visible_meeting(actor, meeting_id))
    item = next((i for i in built.items if i.booking.id == booking_id), None)
    if item is None:
        raise NotFound(f"No case {booking_id} on the agenda of meeting {meeting_id}.")
    audit.record(actor, "meeting.item.view", case_id=item.booking.case_id, detail=f"meeting {meeting_id}")
    return built, item


def _build(meeting: Meeting) -> Agenda:
    bookings = list(db.session.execute(
        select(Booking, Case.child_name).join(Case, Case.id == Booking.case_id)
        .where(Booking.area_code == meeting.area_code, Booking.meeting_at == meeting.starts_at)
        .order_by(Booking.kind, Booking.booked_at, Booking.id)))
    case_ids = [b.case_id for b, _ in bookings]
    steps = db.session.execute(
        select(HumanTask.id, HumanTask.case_id, HumanTask.element_id, HumanTask.status, HumanTask.completed_at,
               HumanTask.created_at)
        .where(HumanTask.case_id.in_(case_ids), HumanTask.element_id.in_((PLAN_STEP, OUTCOME_STEP)),
               HumanTask.status != "cancelled")).all() if case_ids else []
    opens = aware(meeting.starts_at)
    slot, items = opens, []
    for booking, child_name in bookings:
        if booking.status != "booked":
            continue
        mine = [s for s in steps if s.case_id == booking.case_id]
        # This meeting's outcome step opens when it starts; a plan counts if shared since the case was last
        # discussed at MACE 1, and by this meeting's plan deadline.
        outcomes = [s for s in mine if s.element_id == OUTCOME_STEP and aware(s.created_at) >= opens]
        last_discussed = max((aware(s.completed_at) for s in mine if s.element_id == OUTCOME_STEP
                              and s.completed_at is not None and aware(s.completed_at) < opens), default=None)
        plan_ready = any(s.element_id == PLAN_STEP and s.status == "completed"
                         and (last_discussed is None or aware(s.created_at) > last_discussed)
                         and aware(s.completed_at) <= _deadline_end(booking.plan_deadline) for s in mine)
        open_outcome = next((s.id for s in outcomes if s.status == "open"), None)
        items.append(AgendaItem(booking, child_name, slot, meeting.minutes_per_case, plan_ready, open_outcome,
                                any(s.status == "completed" for s in outcomes)))
        slot += timedelta(minutes=meeting.minutes_per_case or 0)
    moved = list(db.session.execute(
        select(Booking, BookingMove).join(BookingMove, BookingMove.booking_id == Booking.id)
        .where(Booking.area_code == meeting.area_code, Booking.meeting_at == meeting.starts_at)))
    return Agenda(meeting, items, [(b, m) for b, m in moved])


def running_main(case_id: int) -> ProcessInstance:
    """The case's running instance of the main pathway process: the one its MACE 1 booking lives in."""
    instance = db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.case_id == case_id, ProcessInstance.status == "running",
                                      ProcessInstance.process_id == MAIN_PROCESS)
        .order_by(ProcessInstance.id.desc()).limit(1))
    if instance is None:
        raise Conflict(f"Case {case_id} has no running pathway to move.")
    return instance


def move_choices(booking: Booking) -> list[timescale_config.Meeting]:
    """The area's later meetings a booked case may move to, soonest first."""
    after = aware(booking.meeting_at).astimezone(UK).date() + timedelta(days=1)
    return pathway_timescales().meetings(booking.area_code, after, MOVE_CHOICES)


def _chosen(booking: Booking, to: str | None) -> timescale_config.Meeting:
    """The meeting asked for by its day (ISO), or the next one when none is asked for."""
    choices = move_choices(booking)
    if not to:
        return choices[0]
    found = next((m for m in choices if m.starts_at.astimezone(UK).date().isoformat() == to), None)
    if found is None:
        raise InvalidInput("The case was not moved.", {"meeting": ["Choose one of the later meetings listed."]})
    return found


@atomic
def move_to_next(actor: Actor, booking_id: int, reason: str, to: str | None = None) -> Booking:
    """Business support moves a case to a later meeting of its area: the one on the day `to` (ISO), one of
    `move_choices`, or else the next. The reason is kept, and the case's plan deadline, circulation date and
    meeting timer follow the new meeting."""
    actor.require(MEETING_MANAGE, "move a case to another meeting")
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.area_code not in actor.areas:
        raise NotFound(f"No booking {booking_id}.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("The case was not moved.", {"reason": ["Say why the case is moving to a later meeting."]})
    if len(reason) > 500:
        raise InvalidInput("The case was not moved.", {"reason": ["Keep the reason to 500 characters or fewer."]})
    if booking.status != "booked":
        raise Conflict(f"Booking {booking_id} was already moved.")
    if aware(booking.meeting_at) <= now():
        raise Conflict("The meeting has started: record the outcome, or the chairs can amend the plan.")
    target = _chosen(booking, to)
    instance = running_main(booking.case_id)
    at = now()
    booking.status = "moved"  # the pathway's projection of the move then books the new meeting, of the same kind
    db.session.add(BookingMove(booking_id=booking.id, to_meeting_at=target.starts_at, reason=reason,
                               moved_by_id=actor.id, moved_at=at))
    db.session.flush()
    day = target.starts_at.astimezone(UK)
    runtime.set_variables(actor, instance.id, {BOOKING_VARIABLE: target.as_data()},
                          detail=f"MACE 1 moved to {day.day} {day:%B %Y}")  # shown on the case's timeline
    audit.record(actor, "booking.move", case_id=booking.case_id, instance_id=instance.id,
                 detail=f"booking {booking.id}")
    return booking


@dataclass
class Register:
    entries: list[Attendance]
    not_represented: dict[str, str]  # agency code -> name
    agencies: dict[str, str]


@atomic
def register(actor: Actor, meeting_id: int) -> Register:
    """The meeting's attendance register, and the core agencies not represented. Audited."""
    actor.require(MEETING_VIEW, "see attendance registers")
    meeting = _visible_meeting(actor, meeting_id)
    audit.record(actor, "meeting.register.view", detail=f"meeting {meeting.id}")
    agencies = pathway_timescales().core_agencies
    entries = list(db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)
                                      .order_by(Attendance.agency)))
    there = {e.agency for e in entries if e.status in ("present", "deputy")}
    return Register(entries, {c: n for c, n in agencies.items() if c not in there}, agencies)


@atomic
def record_attendance(actor: Actor, meeting_id: int, entries: list[dict[str, Any]]) -> Register:
    """Record who attended for each agency: its core member, a deputy they named and briefed, or no one."""
    actor.require(MEETING_MANAGE, "keep the attendance register")
    meeting = _visible_meeting(actor, meeting_id)
    agencies = pathway_timescales().core_agencies
    errors: dict[str, list[str]] = {}
    for n, entry in enumerate(entries):
        where = f"entries.{n}"
        if entry.get("agency") not in agencies:
            errors[f"{where}.agency"] = [f"Choose one of the core agencies: {', '.join(agencies)}."]
        if entry.get("status") not in ATTENDANCE:
            errors[f"{where}.status"] = ["Choose present, deputy or absent."]
        if entry.get("status") == "deputy":
            if not (entry.get("deputy_named_by") or "").strip():
                errors[f"{where}.deputy_named_by"] = ["Name the core member who sent the deputy."]
            if not isinstance(entry.get("deputy_briefed"), bool):
                errors[f"{where}.deputy_briefed"] = ["Say whether the deputy was briefed."]
        if entry.get("status") in ("present", "deputy") and not (entry.get("attendee") or "").strip():
            errors[f"{where}.attendee"] = ["Enter who attended."]
    if errors:
        raise InvalidInput("The attendance was not saved.", errors)
    at = now()
    current = {a.agency: a for a in db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))}
    for entry in entries:
        row = current.get(entry["agency"]) or Attendance(meeting_id=meeting.id, agency=entry["agency"])
        row.status = entry["status"]
        row.attendee = (entry.get("attendee") or "").strip()[:200] or None
        row.deputy_named_by = (entry.get("deputy_named_by") or "").strip()[:200] or None \
            if entry["status"] == "deputy" else None
        row.deputy_briefed = entry.get("deputy_briefed") if entry["status"] == "deputy" else None
        row.recorded_by_id, row.recorded_at = actor.id, at
        db.session.add(row)
    db.session.flush()
    audit.record(actor, "meeting.attendance", detail=f"meeting {meeting.id}")
    return register(actor, meeting_id)


@atomic
def record_outcome(actor: Actor, meeting_id: int, booking_id: int, data: dict[str, Any]) -> HumanTask:
    """Record a child's outcome at the meeting: it completes that child's MACE 1 step and moves the pathway on."""
    actor.require(MEETING_RECORD_OUTCOME, "record MACE 1 outcomes")
    item = next((i for i in _build(_visible_meeting(actor, meeting_id)).items if i.booking.id == booking_id), None)
    if item is None:
        raise NotFound(f"No case {booking_id} on the agenda of meeting {meeting_id}.")
    if item.outcome_task_id is None:
        if item.outcome_recorded:
            raise Conflict("The outcome for this case was already recorded; your answers were not saved.")
        raise Conflict("The outcome opens when the meeting starts and the plan has been circulated.")
    return runtime.complete_task(actor, item.outcome_task_id, data, also_by=MEETING_RECORD_OUTCOME)


@dataclass
class OutcomeLine:
    item: AgendaItem
    facts: dict[str, list[str]]


@atomic
def outcome_summary(actor: Actor, meeting_id: int) -> tuple[Meeting, list[OutcomeLine]]:
    """Each child's recorded outcome, for circulation after the meeting (from the reported answers)."""
    built = _shown_agenda(actor, meeting_id, "meeting.summary.view")
    items = built.items
    day_start = aware(items[0].booking.meeting_at) if items else now()
    facts = db.session.execute(
        select(CaseFact.case_id, CaseFact.kind, CaseFact.value, CaseFact.recorded_at)
        .where(CaseFact.case_id.in_([i.booking.case_id for i in items]), CaseFact.recorded_at >= day_start)
        .order_by(CaseFact.id)).all() if items else []
    lines = []
    for item in items:
        # Each kind once, as last recorded: the risk level agreed at the meeting, not also the RIC's of that day.
        latest: dict[str, tuple[datetime, list[str]]] = {}
        for fact in facts:
            if fact.case_id == item.booking.case_id:
                at, values = latest.get(fact.kind, (None, []))
                if at != fact.recorded_at:
                    at, values = fact.recorded_at, []
                latest[fact.kind] = (at, [*values, fact.value])
        lines.append(OutcomeLine(item, {kind: values for kind, (_, values) in latest.items()}))
    return built.meeting, lines


@atomic
def ics(actor: Actor, meeting_id: int, base_url: str) -> bytes:
    """An iCalendar invitation to the meeting, linking to its agenda at `base_url` (where the user reaches the
    app); it names the area and time, never a child. Audited."""
    actor.require(MEETING_VIEW, "download meeting invitations")
    meeting = _visible_meeting(actor, meeting_id)
    audit.record(actor, "meeting.invitation", detail=f"meeting {meeting.id}")
    area = db.session.get(Area, meeting.area_code)
    starts = aware(meeting.starts_at)
    calendar = Calendar()
    calendar.add("prodid", "-//MACE pathway//MACE 1 meetings//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"mace1-{meeting.id}@{base_url.split('//')[-1]}")
    event.add("dtstamp", now())
    event.add("dtstart", starts)
    event.add("dtend", starts + timedelta(hours=2))
    event.add("summary", f"MACE 1: {area.name}")
    event.add("description", f"Plan deadline {meeting.plan_deadline.day} {meeting.plan_deadline:%B %Y}. Agenda: "
                             f"{base_url}/meetings/{meeting.id}")
    calendar.add_component(event)
    return calendar.to_ical()
