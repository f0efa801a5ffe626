"""The Administration page: where administrators find the users, areas and incidents pages their roles allow."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from processes.mace import policy

from .auth import actor

bp = Blueprint("administration", __name__, url_prefix="/admin")


@bp.get("")
def index() -> ResponseReturnValue:
    if not policy.decisions_for(actor()).administer:
        abort(403)
    return render_template("admin/index.html")
