"""The case page: a child's pathway, its steps, what it waits for and what was recorded; and recording a missing
episode from it, as a form drawn from the pathway's message schema."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from processes.engine import forms, repository, runtime
from processes.engine.errors import InvalidInput
from processes.engine.permissions import MESSAGE_DELIVER
from processes.mace import allocation, casefile, plan_actions, policy
from processes.mace.contract import MISSING_EPISODE, WORKER_ROLE

from . import formkit, submission
from .auth import actor
from .params import ID

bp = Blueprint("cases", __name__)
PAYLOAD = "payload."  # the service names a wrong field of a message `payload.<field>`


@bp.get(f"/cases/<{ID}:case_id>")
def case(case_id: int) -> ResponseReturnValue:
    me = actor()
    found = casefile.case_file(me, case_id, request.args.get("process") or None)
    worker, team = allocation.allocated(found.case)
    workers = allocation.users_with_role(WORKER_ROLE, found.case.area_code) \
        if policy.decisions_for(me).change_worker else []
    return render_template("case.html", file=found, me=me, worker=worker, team=team, workers=workers,
                           markable=plan_actions.markable(me, found.plan_actions),
                           agencies=plan_actions.agency_names() if found.plan_actions else {})


@bp.post(f"/cases/<{ID}:case_id>/worker")
def change_worker(case_id: int) -> ResponseReturnValue:
    """A manager gives the case to another allocated worker; a name not on the list is refused, naming it."""
    try:
        allocation.change_worker(actor(), case_id, request.form.get("worker", ""))
    except InvalidInput as invalid:
        flash(next(iter(invalid.errors.values()))[0], "error")
    else:
        flash("The case and its open steps are with the new allocated worker.", "success")
    return redirect(url_for("web.cases.case", case_id=case_id))


@bp.route(f"/cases/<{ID}:case_id>/missing-episode", methods=["GET", "POST"])
def missing_episode(case_id: int) -> ResponseReturnValue:
    """The message's fields as a form; sent, the pathway receives the message (a return home interview opens)."""
    me = actor()
    child = casefile.case_named(me, case_id)
    me.require(MESSAGE_DELIVER, "record a missing episode")
    key = current_app.config["PATHWAY_KEY"]
    definition = repository.require_latest(key)
    form = forms.message_schema_name(MISSING_EPISODE)
    schema, ui_schema = forms.schema_for(definition, form), forms.ui_schema_for(definition, form)

    def page(raw: dict, refusal: submission.Refusal = submission.NOTHING) -> ResponseReturnValue:
        fields = formkit.fields(schema, ui_schema, raw, refusal.errors)
        return render_template("missing_episode.html", case=child, fields=fields, conflict=refusal.conflict,
                               error_list=refusal.summary(formkit.error_list(fields)),
                               title=schema.get("title") or formkit.humanise(MISSING_EPISODE)), refusal.status

    if request.method == "GET":
        return page({})
    raw = formkit.raw_from_form(schema, request.form)
    payload, errors = formkit.data_from_raw(schema, raw)

    def sent() -> ResponseReturnValue:
        runtime.deliver_message(me, child.id, MISSING_EPISODE, payload, key)
        flash("The missing episode is recorded. The pathway has moved on.", "success")
        return redirect(url_for("web.cases.case", case_id=child.id))

    def friendly(invalid: InvalidInput) -> dict[str, str]:
        return formkit.friendly_errors(schema, {path.removeprefix(PAYLOAD): messages
                                                for path, messages in invalid.errors.items()}, payload)

    return submission.submit(errors, check=lambda: forms.validate_message(definition, MISSING_EPISODE, payload),
                             send=sent, friendly=friendly, again=lambda refusal: page(raw, refusal))
