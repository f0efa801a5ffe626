"""Plan actions: the work list of the actions a user's agency owns, and marking one done."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from processes.engine.errors import Forbidden
from processes.mace import plan_actions, policy

from .auth import actor
from .params import ID

bp = Blueprint("plan_actions", __name__)


@bp.get("/plan-actions")
def worklist() -> ResponseReturnValue:
    me = actor()
    if not policy.decisions_for(me).own_plan_actions:
        raise Forbidden("Only the people of an agency that owns plan actions have a list of them.")
    items = plan_actions.worklist(me)
    return render_template("plan_actions.html", actions=items, markable=plan_actions.markable(me, items),
                           agencies=plan_actions.agency_names())


@bp.post(f"/plan-actions/<{ID}:action_id>/done")
def done(action_id: int) -> ResponseReturnValue:
    action = plan_actions.mark_done(actor(), action_id)
    flash("The action is marked done. It will not be chased again.", "success")
    if request.form.get("back") == "case":
        return redirect(url_for("web.cases.case", case_id=action.case_id, _anchor="plan-actions"))
    return redirect(url_for("web.plan_actions.worklist"))
