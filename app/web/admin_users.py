"""Administrators' user pages: list, add, change roles and areas, reset a password, deactivate; through the same
identity services as `flask users`, which check the permission and audit every change."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from processes.engine import tasks
from processes.engine.errors import InvalidInput
from processes.identity import authentication, sessions
from processes.identity import users as identity
from processes.mace.roles import ROLES

from . import adminkit
from .adminkit import Question
from .auth import actor
from .params import ID

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


def _role_options() -> list[tuple[str, str]]:
    return list(ROLES.items())


def _area_options() -> list[tuple[str, str]]:
    return [(a.code, a.name) for a in identity.list_areas(actor())]


def _agency_options() -> list[tuple[str, str]]:
    return list(identity.agencies().items())


def _team_options() -> list[tuple[str, str]]:
    return [(t.name, t.name) for t in identity.list_teams()]


AGENCY_QUESTION = Question("agency", "select", "Agency", "The core agency they speak for at MACE 1, if any.",
                           required=False, options=_agency_options)
TEAM_QUESTION = Question("team", "select", "Team", "Their overdue steps go to this team's manager.",
                         required=False, options=_team_options)
ROLES_QUESTION = Question("roles", "checkboxes", "Roles", "What they do in the pathway; choose one or more.",
                          options=_role_options)
AREAS_QUESTION = Question("areas", "checkboxes", "Areas", "They see the cases and steps of these areas only.",
                          options=_area_options)
# Each question names the parameter of identity.create_user it answers: a new detail is one more line here.
NEW_USER = (
    Question("username", "text", "Username", "What they type to sign in, for example jo-smith. It cannot change.",
             max_length=80),
    Question("display_name", "text", "Full name", "As colleagues see it on steps and cases.", max_length=200),
    Question("email", "text", "Email address", "Where their reminders, overdue notices and escalations are sent.",
             required=False, max_length=254),
    ROLES_QUESTION,
    AREAS_QUESTION,
    AGENCY_QUESTION,
    TEAM_QUESTION,
)
# Refusals about the user as a whole, not one field, point at the button that asked.
ANCHORS = {"user": "user-action"}


@bp.get("")
def users() -> ResponseReturnValue:
    return render_template("admin/users.html", users=identity.list_users(actor()))


@bp.get("/new")
def new() -> ResponseReturnValue:
    identity.require_manager(actor())
    return render_template("admin/user_new.html", fields=adminkit.fields(NEW_USER), errors=[])


@bp.post("/new")
def add() -> ResponseReturnValue:
    me = actor()
    identity.require_manager(me)
    given = adminkit.answers(NEW_USER)
    try:
        user = identity.create_user(**given, by=me)
    except InvalidInput as invalid:
        return render_template("admin/user_new.html", fields=adminkit.fields(NEW_USER, given, invalid.errors),
                               errors=adminkit.summary(invalid.errors, NEW_USER)), 400
    flash(f"User {user.username} added. Reset their password to give them one for signing in.", "success")
    return redirect(url_for("web.admin_users.user", user_id=user.id))


def _user_page(user_id: int, errors: dict[str, list[str]] | None = None, given: dict | None = None,
               status: int = 200) -> ResponseReturnValue:
    me = actor()
    user = identity.user_by_id(me, user_id)
    team = identity.team_of(user.id)
    values = {"roles": [r.role for r in user.roles], "areas": [a.area_code for a in user.areas],
              "agency": user.agency, "team": team.name if team else None, **(given or {})}
    fields = {f.name: f for f in adminkit.fields((ROLES_QUESTION, AREAS_QUESTION, AGENCY_QUESTION, TEAM_QUESTION),
                                                 values, errors)}
    return render_template("admin/user.html", user=user, me=me, fields=fields,
                           errors=adminkit.summary(errors or {}, anchors=ANCHORS)), status


@bp.get(f"/<{ID}:user_id>")
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(user_id)


@bp.post(f"/<{ID}:user_id>/<any(roles, areas):what>")
def change(user_id: int, what: str) -> ResponseReturnValue:
    me = actor()
    target = identity.user_by_id(me, user_id)
    chosen = adminkit.answers((ROLES_QUESTION if what == "roles" else AREAS_QUESTION,))
    service = identity.set_roles if what == "roles" else identity.set_areas
    try:
        service(me, target.username, chosen[what])
    except InvalidInput as invalid:
        return _user_page(user_id, invalid.errors, chosen, status=400)
    flash(f"The {what} of {target.username} are saved.", "success")
    return redirect(url_for("web.admin_users.user", user_id=user_id))


@bp.post(f"/<{ID}:user_id>/team-agency")
def change_team_and_agency(user_id: int) -> ResponseReturnValue:
    me = actor()
    target = identity.user_by_id(me, user_id)
    chosen = adminkit.answers((AGENCY_QUESTION, TEAM_QUESTION))
    try:
        identity.set_team_and_agency(target.username, by=me, **chosen)
    except InvalidInput as invalid:
        return _user_page(user_id, invalid.errors, chosen, status=400)
    flash(f"The agency and team of {target.username} are saved.", "success")
    return redirect(url_for("web.admin_users.user", user_id=user_id))


@bp.post(f"/<{ID}:user_id>/password")
def reset_password(user_id: int) -> ResponseReturnValue:
    me = actor()
    target = identity.user_by_id(me, user_id)
    try:
        password = authentication.reset_password(me, target.username)
    except InvalidInput as invalid:
        return _user_page(user_id, invalid.errors, status=400)
    # Shown in this response only, never flashed (the session cookie) nor logged; the page is not cached.
    return render_template("admin/password.html", user=target, password=password)


@bp.get(f"/<{ID}:user_id>/deactivate")
def confirm_deactivate(user_id: int) -> ResponseReturnValue:
    me = actor()
    target = identity.user_by_id(me, user_id)
    return render_template("admin/deactivate.html", user=target, steps=tasks.assigned_count(target.id),
                           errors=[])


@bp.post(f"/<{ID}:user_id>/deactivate")
def deactivate(user_id: int) -> ResponseReturnValue:
    me = actor()
    target = identity.user_by_id(me, user_id)
    try:
        ended = sessions.deactivate(me, target.username)
    except InvalidInput as invalid:
        return render_template("admin/deactivate.html", user=target, steps=tasks.assigned_count(target.id),
                               errors=adminkit.summary(invalid.errors, anchors=ANCHORS)), 400
    flash(f"{target.username} is deactivated: {ended.sessions} session(s) ended, {ended.tokens} API token(s) "
          f"revoked, {ended.steps} open step(s) returned to their role's pool.", "success")
    return redirect(url_for("web.admin_users.users"))
