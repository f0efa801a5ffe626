"""Administrators' area pages: list, add and rename partnership areas, through the identity services that
`flask areas add` uses; each change is audited there."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from processes.engine.errors import InvalidInput
from processes.identity import users as identity

from . import adminkit
from .adminkit import Question
from .auth import actor

bp = Blueprint("admin_areas", __name__, url_prefix="/admin/areas")
CODE = Question("code", "text", "Code", "Letters, digits and hyphens, for example north. It cannot change: cases and "
                                        "users name it.", max_length=40)
NAME = Question("name", "text", "Name", "As users see it, for example Northshire North.", max_length=200)
NEW_AREA = (CODE, NAME)
AREA_CODE = "string(maxlength=40)"


@bp.get("")
def areas() -> ResponseReturnValue:
    return render_template("admin/areas.html", areas=identity.list_areas(actor()), fields=adminkit.fields(NEW_AREA),
                           errors=[])


@bp.post("")
def add() -> ResponseReturnValue:
    me = actor()
    given = adminkit.answers(NEW_AREA)
    try:
        area = identity.add_area(me, **given)
    except InvalidInput as invalid:
        return render_template("admin/areas.html", areas=identity.list_areas(me),
                               fields=adminkit.fields(NEW_AREA, given, invalid.errors),
                               errors=adminkit.summary(invalid.errors, NEW_AREA)), 400
    flash(f"Area {area.name} added.", "success")
    return redirect(url_for("web.admin_areas.areas"))


@bp.get(f"/<{AREA_CODE}:code>")
def area(code: str) -> ResponseReturnValue:
    found = identity.get_area(actor(), code)
    return render_template("admin/area.html", area=found, fields=adminkit.fields((NAME,), {"name": found.name}),
                           errors=[])


@bp.post(f"/<{AREA_CODE}:code>")
def rename(code: str) -> ResponseReturnValue:
    me = actor()
    found = identity.get_area(me, code)
    given = adminkit.answers((NAME,))
    try:
        identity.rename_area(me, code, given["name"])
    except InvalidInput as invalid:
        return render_template("admin/area.html", area=found, errors=adminkit.summary(invalid.errors),
                               fields=adminkit.fields((NAME,), given, invalid.errors)), 400
    flash(f"Area {code} renamed.", "success")
    return redirect(url_for("web.admin_areas.areas"))
