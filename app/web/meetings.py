"""MACE 1 meeting pages: upcoming meetings, a meeting's agenda (moving a case on, the attendance register, the
invitation), recording a child's outcome with the pathway's own form, and the printable outcome summary.

`processes.mace.meetings` and the pathway's policy decide who may see and do what and audit it; these views only
draw and translate.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from processes.engine import forms, repository
from processes.engine.clock import aware, now
from processes.engine.errors import Conflict, InvalidInput, NotFound
from processes.identity import users as identity
from processes.mace import contract, facts, meetings, policy
from processes.mace.contract import OUTCOME_STEP
from processes.mace.working_days import UK

from . import formkit, submission
from .auth import actor
from .oversight import report_labels
from .params import ID, base_url

bp = Blueprint("meetings", __name__)

STATUS_NAMES = {"present": "Present", "deputy": "Deputy", "absent": "Absent"}
ATTENDANCE_FIELDS = ("status", "attendee", "deputy_named_by", "deputy_briefed")  # in the order the page shows them
# The order facts are listed in on the outcome summary; anything else recorded that day follows.
SUMMARY_ORDER = contract.SUMMARY_KINDS
# Headings of facts that the outcome form does not title itself (it records them earlier, in other forms).
FACT_TITLES = {contract.RISK_LEVEL: "Risk level", contract.ESCALATION_AGREED: "Escalation agreed",
               contract.PERSON_OF_CONCERN: "Persons of concern", contract.LOCATION_OF_CONCERN: "Locations of concern",
               contract.EXPLOITATION_TYPE: "Types of exploitation"}


def _plain(message: str) -> str:
    """GOV.UK error messages have no full stop."""
    return message.rstrip(". ")


@bp.get("/meetings")
def upcoming() -> ResponseReturnValue:
    me = actor()
    found = meetings.upcoming(me)
    return render_template("meetings/list.html", found=found, areas=identity.area_names(me.areas))


def _attendance_rows(register: meetings.Register, raw: dict[str, dict[str, str]] | None,
                     errors: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """One row per core agency, from what was posted or else what the register holds."""
    recorded = {e.agency: e for e in register.entries}
    rows = []
    for code, name in register.agencies.items():
        if raw is not None:
            values = raw.get(code, {})
        elif code in recorded:
            e = recorded[code]
            values = {"status": e.status, "attendee": e.attendee or "", "deputy_named_by": e.deputy_named_by or "",
                      "deputy_briefed": {True: "yes", False: "no"}.get(e.deputy_briefed, "")}
        else:
            values = {}
        rows.append({"code": code, "name": name, "values": values,
                     "errors": {f: errors[(code, f)] for f in ATTENDANCE_FIELDS if (code, f) in errors}})
    return rows


def _page(meeting_id: int, *, moving: dict[str, Any] | None = None, raw_attendance=None,
          attendance_errors: dict[tuple[str, str], str] | None = None, conflict: str | None = None,
          status: int = 200) -> ResponseReturnValue:
    me = actor()
    agenda = meetings.agenda(me, meeting_id)
    register = meetings.register(me, meeting_id)
    attendance_errors = attendance_errors or {}
    rows = _attendance_rows(register, raw_attendance, attendance_errors)
    error_list = []
    if moving and moving.get("error"):
        error_list.append((f"{moving['field']}-{moving['booking_id']}", moving["error"]))
    for row in rows:
        for name in ATTENDANCE_FIELDS:
            if name in row["errors"]:
                error_list.append((f"{row['code']}-{name.replace('_', '-')}", row["errors"][name]))
    return render_template(
        "meetings/meeting.html", agenda=agenda, meeting=agenda.meeting, register=register, rows=rows,
        area_name=identity.area_names({agenda.meeting.area_code}).get(agenda.meeting.area_code),
        started=aware(agenda.meeting.starts_at) <= now(),
        # Each later meeting a case may move to, by its day as the form sends it.
        move_choices={item.booking.id: [(aware(m.starts_at).astimezone(UK).date().isoformat(), m)
                                        for m in meetings.move_choices(item.booking)] for item in agenda.items},
        moving=moving or {}, conflict=conflict, error_list=error_list, status_names=STATUS_NAMES), status


@bp.get(f"/meetings/<{ID}:meeting_id>")
def meeting(meeting_id: int) -> ResponseReturnValue:
    return _page(meeting_id)


@bp.post(f"/meetings/<{ID}:meeting_id>/items/<{ID}:booking_id>/move")
def move(meeting_id: int, booking_id: int) -> ResponseReturnValue:
    me = actor()
    me.require(policy.MEETING_MANAGE, "move a case to another meeting")
    meetings.agenda_item(me, meeting_id, booking_id)
    reason, to = request.form.get("reason", ""), request.form.get("meeting", "")
    try:
        meetings.move_to_next(me, booking_id, reason, to)
    except InvalidInput as invalid:
        [(name, messages)] = list(invalid.errors.items())[:1]
        return _page(meeting_id, moving={"booking_id": booking_id, "reason": reason, "to": to, "field": name,
                                         "error": _plain(messages[0])}, status=400)
    except Conflict as error:
        return _page(meeting_id, conflict=error.message, status=409)
    # Flashed messages live in the session cookie: they name no child.
    flash("The case is moved to the meeting chosen. The reason is kept under 'Moved to a later meeting'.", "success")
    return redirect(url_for("web.meetings.meeting", meeting_id=meeting_id))


@bp.post(f"/meetings/<{ID}:meeting_id>/attendance")
def attendance(meeting_id: int) -> ResponseReturnValue:
    me = actor()
    me.require(policy.MEETING_MANAGE, "keep the attendance register")
    agencies = meetings.register(me, meeting_id).agencies
    raw: dict[str, dict[str, str]] = {}
    entries, codes = [], []
    for code in agencies:
        values = {name: request.form.get(f"{code}-{name}", "").strip() for name in ATTENDANCE_FIELDS}
        raw[code] = values
        if not any(values.values()):
            continue  # nothing said about this agency: it stays off the register (not represented)
        entries.append({"agency": code, "status": values["status"] or None, "attendee": values["attendee"],
                        "deputy_named_by": values["deputy_named_by"],
                        "deputy_briefed": {"yes": True, "no": False}.get(values["deputy_briefed"])})
        codes.append(code)
    try:
        meetings.record_attendance(me, meeting_id, entries)
    except InvalidInput as invalid:
        errors = {}
        for path, messages in invalid.errors.items():
            _, index, name = path.split(".", 2)
            if index.isdigit() and int(index) < len(codes):
                errors[(codes[int(index)], "status" if name == "agency" else name)] = _plain(messages[0])
        return _page(meeting_id, raw_attendance=raw, attendance_errors=errors, status=400)
    flash("The attendance register is saved.", "success")
    return redirect(url_for("web.meetings.meeting", meeting_id=meeting_id) + "#attendance")


def _outcome_form():
    """The form of the pathway's MACE 1 outcome step, as its diagram names it (latest version)."""
    definition = repository.require_latest(current_app.config["PATHWAY_KEY"])
    form = forms.form_of_step(definition, OUTCOME_STEP)
    if form is None:
        raise NotFound(f"The pathway has no '{OUTCOME_STEP}' step.")
    return definition, form, forms.schema_for(definition, form), forms.ui_schema_for(definition, form)


@bp.route(f"/meetings/<{ID}:meeting_id>/items/<{ID}:booking_id>/outcome", methods=["GET", "POST"])
def outcome(meeting_id: int, booking_id: int) -> ResponseReturnValue:
    me = actor()
    me.require(policy.MEETING_RECORD_OUTCOME, "record MACE 1 outcomes")
    agenda, item = meetings.agenda_item(me, meeting_id, booking_id)
    definition, form, schema, ui = _outcome_form()

    def page(raw: dict, refusal: submission.Refusal = submission.NOTHING) -> ResponseReturnValue:
        fields = formkit.fields(schema, ui, raw, refusal.errors)
        area = agenda.meeting.area_code
        return render_template("meetings/outcome.html", item=item, meeting=agenda.meeting, fields=fields,
                               error_list=refusal.summary(formkit.error_list(fields)), conflict=refusal.conflict,
                               title=schema.get("title") or "MACE 1 outcome", description=schema.get("description"),
                               area_name=identity.area_names({area}).get(area)), refusal.status

    if request.method == "GET":
        return page({})
    raw = formkit.raw_from_form(schema, request.form)
    if formkit.row_action(schema, raw, request.form.get("action", "record")):
        return page(raw)
    data, errors = formkit.data_from_raw(schema, raw, ui=ui)

    def recorded() -> ResponseReturnValue:
        meetings.record_outcome(me, meeting_id, booking_id, data)
        flash("The outcome is recorded and the child's pathway has moved on.", "success")
        return redirect(url_for("web.meetings.meeting", meeting_id=meeting_id))

    # With answers to correct, the form still shows every field's problem at once; nothing is saved.
    return submission.submit(errors, check=lambda: forms.validate(definition, form, data), send=recorded,
                             friendly=lambda invalid: formkit.friendly_errors(schema, invalid.errors, data),
                             again=lambda refusal: page(raw, refusal))


def _fact_titles(schema: dict[str, Any]) -> dict[str, str]:
    return {prop[facts.REPORT_KEYWORD]: prop.get("title") or formkit.humanise(name)
            for name, prop in schema.get("properties", {}).items() if facts.REPORT_KEYWORD in prop}


@bp.get(f"/meetings/<{ID}:meeting_id>/summary")
def summary(meeting_id: int) -> ResponseReturnValue:
    me = actor()
    meeting, lines = meetings.outcome_summary(me, meeting_id)
    register = meetings.register(me, meeting_id)
    definition, _, schema, _ = _outcome_form()
    labels = report_labels(definition)
    titles = FACT_TITLES | _fact_titles(schema)

    def text(kind: str, value: str) -> str:
        if value in ("True", "False"):
            return "Yes" if value == "True" else "No"
        return labels.get(kind, {}).get(value, value)

    shown = [(line, [(titles.get(kind, formkit.humanise(kind)), [text(kind, v) for v in line.facts[kind]])
                     for kind in sorted(line.facts, key=lambda k: (*SUMMARY_ORDER, k).index(k))])
             for line in lines]
    return render_template("meetings/summary.html", meeting=meeting, shown=shown, register=register,
                           area_name=identity.area_names({meeting.area_code}).get(meeting.area_code),
                           status_names=STATUS_NAMES)


@bp.get(f"/meetings/<{ID}:meeting_id>.ics")
def ics(meeting_id: int) -> ResponseReturnValue:
    response = Response(meetings.ics(actor(), meeting_id, base_url()), mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="mace1-meeting-{meeting_id}.ics"'
    return response

