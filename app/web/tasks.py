"""Task pages: the inbox, a task with its form, and claiming, giving back and reassigning a task."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from processes.engine import runtime, tasks
from processes.engine.errors import InvalidInput
from processes.identity import users as identity
from processes.mace import casefile, diagrams, drafts, notifications, plan_actions, policy, worklists

from . import formkit, submission
from .auth import actor
from .params import ID, int_arg

bp = Blueprint("tasks", __name__)
PAGE_SIZE = 25


@bp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("web.tasks.inbox"))


@bp.get("/tasks")
def inbox() -> ResponseReturnValue:
    me = actor()
    scopes = worklists.scopes_for(me)
    scope = request.args.get("scope") if request.args.get("scope") in scopes else None
    stages = diagrams.stage_names()
    wanted = worklists.WorkFilter(
        stage=request.args.get("stage") or None,
        area=request.args.get("area") if request.args.get("area") in me.areas else None,
        due=request.args.get("due") if request.args.get("due") in worklists.DUE_STATES else None,
    )
    page = int_arg("page", 1)
    # Without a scope asked for, the inbox opens on the first list that holds work, not on an empty "My tasks".
    scope = scope or worklists.first_scope_with_work(me, wanted)
    work = worklists.worklist(me, scope, wanted, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-work.total // PAGE_SIZE))
    return render_template("inbox.html", work=work, scopes=scopes, scope=scope, wanted=wanted, stages=stages,
                           areas=identity.area_names(me.areas), page=page, pages=pages)


@bp.post(f"/tasks/<{ID}:task_id>/claim")
def claim(task_id: int) -> ResponseReturnValue:
    tasks.claim(actor(), task_id)
    flash("The task is assigned to you.", "success")
    return redirect(url_for("web.tasks.task", task_id=task_id))


@bp.post(f"/tasks/<{ID}:task_id>/unclaim")
def unclaim(task_id: int) -> ResponseReturnValue:
    tasks.unclaim(actor(), task_id)
    flash("The task is back with its team to claim.", "success")
    return redirect(url_for("web.tasks.inbox"))


@bp.post(f"/tasks/<{ID}:task_id>/reassign")
def reassign(task_id: int) -> ResponseReturnValue:
    try:
        tasks.reassign(actor(), task_id, request.form.get("username", ""))
    except InvalidInput as invalid:
        flash(next(iter(invalid.errors.values()))[0], "error")
    else:
        flash("The task was reassigned.", "success")
    return redirect(url_for("web.tasks.task", task_id=task_id))


@bp.route(f"/tasks/<{ID}:task_id>", methods=["GET", "POST"])
def task(task_id: int) -> ResponseReturnValue:
    me = actor()
    view = tasks.get_task(me, task_id)
    if request.method == "GET":
        notifications.mark_task_read(me, task_id)  # opening the step, from a notification or anywhere, reads them
    schema = view.form_schema

    def page(raw: dict, refusal: submission.Refusal = submission.NOTHING) -> ResponseReturnValue:
        fields = formkit.fields(schema, view.ui_schema, raw, refusal.errors)
        reassigns = policy.decisions_for(me).reassign_tasks and view.status == "open"
        stage = diagrams.stage_names().get(view.process_id) or diagrams.humanise(view.process_id)
        context = casefile.task_context(me, view.task)
        agencies = plan_actions.agency_names() if context.plan_actions else {}
        return render_template("task.html", view=view, context=context, fields=fields, agencies=agencies,
                               stage=stage, error_list=refusal.summary(formkit.error_list(fields)),
                               conflict=refusal.conflict, me=me,
                               assignees=worklists.assignees_for(me, task_id) if reassigns else []), refusal.status

    if request.method == "GET":
        return page(formkit.raw_from_data(schema, drafts.get(me, task_id) if view.status == "open" else None))
    raw = formkit.raw_from_form(schema, request.form)
    action = request.form.get("action", "complete")
    if formkit.row_action(schema, raw, action):
        return page(raw)
    data, errors = formkit.data_from_raw(schema, raw, ui=view.ui_schema)

    def saved() -> ResponseReturnValue:
        drafts.save(me, task_id, data)
        flash("Your answers are saved as a draft. Only you can see them.", "success")
        return redirect(url_for("web.tasks.task", task_id=task_id))

    def completed() -> ResponseReturnValue:
        runtime.complete_task(me, task_id, data)  # its drafts go with it (a listener)
        flash(f"Done: {view.name}.", "success")
        return redirect(url_for("web.cases.case", case_id=view.case_id))

    if action == "save":  # a draft is kept even with answers to correct: only completing needs them right
        check, send = (lambda: drafts.save(me, task_id, data)), saved
    else:
        check, send = (lambda: tasks.check_answers(me, task_id, data)), completed
    return submission.submit(errors, check=check, send=send, again=lambda refusal: page(raw, refusal),
                             friendly=lambda invalid: formkit.friendly_errors(schema, invalid.errors, data))
