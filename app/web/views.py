"""The web pages: inbox, task, case and referral. Each calls the service layer and renders its answer."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from processes.engine import tasks
from processes.engine.errors import Conflict, InvalidInput
from processes.identity import users as identity
from processes.mace import casefile, diagrams, drafts, policy, referrals

from . import formkit
from .auth import actor

PAGE_SIZE = 25
SCREENING = "screening."
CHILD = "case."


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else default


def inbox():
    me = actor()
    scopes = tasks.scopes_for(me)
    scope = request.args.get("scope") if request.args.get("scope") in scopes else "mine"
    stages = diagrams.stage_names()
    wanted = tasks.WorkFilter(
        stage=request.args.get("stage") or None,
        area=request.args.get("area") if request.args.get("area") in me.areas else None,
        due=request.args.get("due") if request.args.get("due") in tasks.DUE_STATES else None,
    )
    page = _int_arg("page", 1)
    work = tasks.worklist(me, scope, wanted, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-work.total // PAGE_SIZE))
    return render_template("inbox.html", work=work, scopes=scopes, scope=scope, wanted=wanted, stages=stages,
                           areas=identity.area_names(me.areas), page=page, pages=pages)


def claim(task_id: int):
    tasks.claim(actor(), task_id)
    flash("The task is assigned to you.", "success")
    return redirect(url_for("web.task", task_id=task_id))


def unclaim(task_id: int):
    tasks.unclaim(actor(), task_id)
    flash("The task is back with its team to claim.", "success")
    return redirect(url_for("web.inbox"))


def reassign(task_id: int):
    try:
        tasks.reassign(actor(), task_id, request.form.get("username", ""))
    except InvalidInput as invalid:
        flash(next(iter(invalid.errors.values()))[0], "error")
    else:
        flash("The task was reassigned.", "success")
    return redirect(url_for("web.task", task_id=task_id))


def task(task_id: int):
    me = actor()
    view = tasks.get_task(me, task_id)
    context = casefile.task_context(me, view.task)
    schema, ui = view.form_schema, view.ui_schema
    errors: dict[str, str] = {}
    conflict = None
    status = 200
    if request.method == "GET":
        raw = formkit.raw_from_data(schema, drafts.get(me, task_id) if view.status == "open" else None)
    else:
        raw = formkit.raw_from_form(schema, request.form)
        action = request.form.get("action", "complete")
        if not formkit.row_action(schema, raw, action):
            data, errors = formkit.data_from_raw(schema, raw)
            try:
                if action == "save":
                    drafts.save(me, task_id, data)
                    if not errors:
                        flash("Your answers are saved as a draft. Only you can see them.", "success")
                        return redirect(url_for("web.task", task_id=task_id))
                elif errors:
                    tasks.check_answers(me, task_id, data)
                else:
                    drafts.complete_task(me, task_id, data)
                    flash(f"Done: {view.name}.", "success")
                    return redirect(url_for("web.case", case_id=view.case_id))
            except InvalidInput as invalid:
                errors = formkit.friendly_errors(schema, invalid.errors, data) | errors
            except Conflict as error:
                conflict = error.message
                status = 409
            if errors:
                status = 400
    fields = formkit.fields(schema, ui, raw, errors)
    can = policy.decisions_for(me)
    assignees = tasks.assignees_for(me, task_id) if can.reassign_tasks and view.status == "open" else []
    stage = diagrams.stage_names().get(view.process_id) or diagrams.humanise(view.process_id)
    return render_template("task.html", view=view, context=context, fields=fields, stage=stage,
                           error_list=formkit.error_list(fields), conflict=conflict, can_act=can.act_on(view.task),
                           assignees=assignees, me=me), status


def case(case_id: int):
    found = casefile.case_file(actor(), case_id, request.args.get("process") or None)
    return render_template("case.html", file=found, me=actor())


def _child_schema(areas: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object", "required": ["child_name", "area"],
        "properties": {
            "child_name": {"type": "string", "title": "Child's full name", "maxLength": 200},
            "date_of_birth": {"type": "string", "format": "date", "title": "Date of birth",
                              "description": "For example, 27 3 2012. Leave it blank if you do not know it."},
            "area": {"type": "string", "title": "Area the child lives in",
                     "oneOf": [{"const": code, "title": name} for code, name in areas.items()]},
        },
    }


def _split(errors: dict[str, list[str]], prefix: str) -> dict[str, list[str]]:
    return {path[len(prefix):]: messages for path, messages in errors.items() if path.startswith(prefix)}


def referral():
    me = actor()
    me.require(policy.REFERRAL_START, "raise a referral")
    key = current_app.config["PATHWAY_KEY"]
    form = referrals.screening_form(key)
    areas = identity.area_names(me.areas)
    child_schema = _child_schema(areas)
    case_id = request.values.get("case", type=int)
    known = casefile.case_file(me, case_id).case if case_id else None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "GET":
        child_raw: dict[str, Any] = {}
        raw: dict[str, Any] = {}
    else:
        child_raw = formkit.raw_from_form(child_schema, request.form, CHILD)
        raw = formkit.raw_from_form(form.schema, request.form, SCREENING)
        action = request.form.get("action", "send")
        if action.startswith("add:"):
            formkit.add_row(form.schema, raw, action[4:])
        elif action.startswith("remove:"):
            name, _, index = action[7:].rpartition(":")
            formkit.remove_row(raw, name, int(index) if index.isdigit() else -1)
        else:
            child, child_errors = formkit.data_from_raw(child_schema, child_raw)
            screening, screening_errors = formkit.data_from_raw(form.schema, raw)
            arguments = {"case_id": known.id} if known else {
                "area": child.get("area"), "child_name": child.get("child_name"),
                "date_of_birth": date.fromisoformat(child["date_of_birth"]) if "date_of_birth" in child else None}
            try:
                if child_errors or screening_errors:
                    referrals.check(me, key, screening, **arguments)
                else:
                    made = referrals.start(me, key, screening, **arguments)
                    flash("The referral is sent. The hub will decide on it.", "success")
                    return redirect(url_for("web.case", case_id=made.case.id))
            except InvalidInput as invalid:
                # The child's messages are the service's own, written for people; the form's come from its schema.
                errors = {p: m[0] for p, m in _split(invalid.errors, CHILD).items()} | \
                    {SCREENING + p: m for p, m in
                     formkit.friendly_errors(form.schema, _split(invalid.errors, SCREENING), screening).items()}
            errors |= child_errors | {SCREENING + p: m for p, m in screening_errors.items()}
            status = 400
    child_fields = [] if known else formkit.fields(child_schema, {"ui:order": ["child_name", "date_of_birth", "area"],
                                                                  "area": {"ui:widget": "radio"}},
                                                   child_raw, _unprefixed(errors, SCREENING, keep=False), CHILD)
    screening_fields = formkit.fields(form.schema, form.ui_schema, raw, _unprefixed(errors, SCREENING), SCREENING)
    return render_template("referral.html", known=known, child_fields=child_fields, fields=screening_fields,
                           error_list=formkit.error_list(child_fields + screening_fields),
                           title=form.schema.get("title") or "Screening"), status


def _unprefixed(errors: dict[str, str], prefix: str, keep: bool = True) -> dict[str, str]:
    """The errors of one section: with keep, those under `prefix` (unprefixed); else all the others."""
    if keep:
        return {path[len(prefix):]: message for path, message in errors.items() if path.startswith(prefix)}
    return {path: message for path, message in errors.items() if not path.startswith(prefix)}


def register(web: Blueprint) -> None:
    web.add_url_rule("/", "home", lambda: redirect(url_for("web.inbox")))
    web.add_url_rule("/tasks", "inbox", inbox)
    web.add_url_rule("/tasks/<int(max=2147483647):task_id>", "task", task, methods=["GET", "POST"])
    web.add_url_rule("/tasks/<int(max=2147483647):task_id>/claim", "claim", claim, methods=["POST"])
    web.add_url_rule("/tasks/<int(max=2147483647):task_id>/unclaim", "unclaim", unclaim, methods=["POST"])
    web.add_url_rule("/tasks/<int(max=2147483647):task_id>/reassign", "reassign", reassign, methods=["POST"])
    web.add_url_rule("/cases/<int(max=2147483647):case_id>", "case", case)
    web.add_url_rule("/referrals/new", "referral", referral, methods=["GET", "POST"])
