"""Starting a referral: the child (or a known child's case) and the pathway's screening form, sent as one."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from processes.engine.errors import InvalidInput
from processes.identity import users as identity
from processes.mace import casefile, policy, referrals

from . import formkit, submission
from .auth import actor

bp = Blueprint("referrals", __name__)
SCREENING = "screening."
CHILD = "case."
# The referrer's answer to the possible matches the duplicate check showed: a case's id, or a new child.
DUPLICATE = "duplicate"
NEW_CHILD = "new"


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


def _unprefixed(errors: dict[str, str], prefix: str, keep: bool = True) -> dict[str, str]:
    """The errors of one section: with keep, those under `prefix` (unprefixed); else all the others."""
    if keep:
        return {path[len(prefix):]: message for path, message in errors.items() if path.startswith(prefix)}
    return {path: message for path, message in errors.items() if not path.startswith(prefix)}


@bp.route("/referrals/new", methods=["GET", "POST"])
def referral() -> ResponseReturnValue:
    me = actor()
    me.require(policy.REFERRAL_START, "raise a referral")
    key = current_app.config["PATHWAY_KEY"]
    form = referrals.screening_form(key)
    child_schema = _child_schema(identity.area_names(me.areas))
    case_id = request.values.get("case", type=int)
    known = casefile.case_file(me, case_id).case if case_id else None

    choice = "" if known else request.form.get(DUPLICATE, "")
    chosen = int(choice) if choice.isdigit() and int(choice) < 2**31 else None

    def page(child_raw: dict, raw: dict, refusal: submission.Refusal = submission.NOTHING,
             duplicates: list[referrals.Duplicate] | None = None) -> ResponseReturnValue:
        # Errors name the screening answers `screening.<path>` and the child's fields by their own names.
        child_fields = [] if known else formkit.fields(
            child_schema, {"ui:order": ["child_name", "date_of_birth", "area"], "area": {"ui:widget": "radio"}},
            child_raw, _unprefixed(refusal.errors, SCREENING, keep=False), CHILD)
        fields = formkit.fields(form.schema, form.ui_schema, raw, _unprefixed(refusal.errors, SCREENING), SCREENING)
        return render_template("referral.html", known=known, child_fields=child_fields, fields=fields,
                               error_list=refusal.summary(formkit.error_list(child_fields + fields)),
                               conflict=refusal.conflict, duplicates=duplicates, chosen=chosen,
                               title=form.schema.get("title") or "Screening"), 409 if duplicates else refusal.status

    if request.method == "GET":
        return page({}, {})
    child_raw = formkit.raw_from_form(child_schema, request.form, CHILD)
    raw = formkit.raw_from_form(form.schema, request.form, SCREENING)
    if formkit.row_action(form.schema, raw, request.form.get("action", "send")):
        return page(child_raw, raw)
    child, child_errors = formkit.data_from_raw(child_schema, child_raw)
    screening, screening_errors = formkit.data_from_raw(form.schema, raw, ui=form.ui_schema)
    # The referrer said which known case the child is: the referral goes to it, as from its case page.
    arguments = {"case_id": known.id if known else chosen} if known or chosen else {
        "area": child.get("area"), "child_name": child.get("child_name"),
        "date_of_birth": date.fromisoformat(child["date_of_birth"]) if "date_of_birth" in child else None,
        "confirm_new_child": choice == NEW_CHILD}

    def sent() -> ResponseReturnValue:
        try:
            made = referrals.start(me, key, screening, **arguments)
        except referrals.PossibleDuplicate as possible:
            return page(child_raw, raw, duplicates=referrals.shown_duplicates(me, possible.matches))
        flash("The referral is sent. The hub will decide on it.", "success")
        return redirect(url_for("web.cases.case", case_id=made.case.id))

    def friendly(invalid: InvalidInput) -> dict[str, str]:
        # The child's messages are the service's own, written for people; the form's come from its schema.
        return {p: m[0] for p, m in _split(invalid.errors, CHILD).items()} | \
            {SCREENING + p: m for p, m in
             formkit.friendly_errors(form.schema, _split(invalid.errors, SCREENING), screening).items()}

    checked = {name: value for name, value in arguments.items() if name != "confirm_new_child"}
    return submission.submit(child_errors | {SCREENING + p: m for p, m in screening_errors.items()},
                             check=lambda: referrals.check(me, key, screening, **checked), send=sent,
                             friendly=friendly, again=lambda refusal: page(child_raw, raw, refusal))
