"""Finding a child: the search page (and the header's box, which posts to it) and "My cases"."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from processes.identity import users as identity
from processes.mace import mycases, search

from . import formkit
from .auth import actor

bp = Blueprint("search", __name__)
# Posted, never in the address: a child's name must not reach URLs, browser history or access logs.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "child": {"type": "string", "title": "Child's name or case number", "maxLength": 200,
                  "description": "A name may be part of it, spelt roughly, or with first and last names swapped."},
        "date_of_birth": {"type": "string", "format": "date", "title": "Date of birth"},
    },
}
NOTHING_GIVEN = "Enter a name, a case number or a date of birth"


def _query(data: dict[str, Any]) -> dict[str, Any]:
    """The search's terms: a number alone is a case number (as the case page shows it), anything else a name."""
    child = (data.get("child") or "").removeprefix("case ").removeprefix("Case ").strip()
    number = child.isdigit() and int(child) < 2**31
    return {"case_number": int(child) if number else None, "name": None if number else child or None,
            "date_of_birth": date.fromisoformat(data["date_of_birth"]) if "date_of_birth" in data else None}


@bp.route("/search", methods=["GET", "POST"])
def find() -> ResponseReturnValue:
    me = actor()
    raw = formkit.raw_from_form(SCHEMA, request.form) if request.method == "POST" else {}
    data, errors = formkit.data_from_raw(SCHEMA, raw)
    if request.method == "POST" and not errors and not data:
        errors["child"] = NOTHING_GIVEN
    found = search.find(me, **_query(data)) if request.method == "POST" and not errors else None
    fields = formkit.fields(SCHEMA, {}, raw, errors)
    return render_template("search/find.html", fields=fields, found=found, error_list=formkit.error_list(fields),
                           areas=identity.area_names(me.areas)), 400 if errors else 200


@bp.get("/my-cases")
def mine() -> ResponseReturnValue:
    me = actor()
    return render_template("search/mine.html", cases=mycases.my_cases(me), areas=identity.area_names(me.areas))
