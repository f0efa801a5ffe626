"""The case page: a child's pathway, its steps and what was recorded."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from processes.engine.errors import InvalidInput
from processes.mace import allocation, casefile, policy
from processes.mace.contract import WORKER_ROLE

from .auth import actor
from .params import ID

bp = Blueprint("cases", __name__)


@bp.get(f"/cases/<{ID}:case_id>")
def case(case_id: int) -> ResponseReturnValue:
    me = actor()
    found = casefile.case_file(me, case_id, request.args.get("process") or None)
    worker, team = allocation.allocated(found.case)
    workers = allocation.users_with_role(WORKER_ROLE, found.case.area_code) \
        if policy.decisions_for(me).change_worker else []
    return render_template("case.html", file=found, me=me, worker=worker, team=team, workers=workers)


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
