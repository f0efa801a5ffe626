"""The case page: a child's pathway, its steps and what was recorded."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from processes.mace import casefile, plan_actions

from .auth import actor
from .params import ID

bp = Blueprint("cases", __name__)


@bp.get(f"/cases/<{ID}:case_id>")
def case(case_id: int) -> ResponseReturnValue:
    me = actor()
    found = casefile.case_file(me, case_id, request.args.get("process") or None)
    return render_template("case.html", file=found, me=me, markable=plan_actions.markable(me, found.plan_actions),
                           agencies=plan_actions.agency_names() if found.plan_actions else {})
