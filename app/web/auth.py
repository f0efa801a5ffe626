"""Signing in and out: Flask-Login sessions over argon2-checked passwords, with a rate limit on attempts."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

from processes.engine.actors import Actor
from processes.identity import authentication
from processes.identity import users as identity

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "web.auth.sign_in"
login_manager.login_message = None  # the sign-in page says why already
login_manager.session_protection = "strong"
limiter = Limiter(key_func=get_remote_address)


@dataclass
class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees them: their Actor (roles, areas) and their name to show."""

    actor: Actor
    display_name: str

    def get_id(self) -> str:
        return str(self.actor.id)


@login_manager.user_loader
def _load(user_id: str) -> SignedIn | None:
    actor = identity.actor_for_user(int(user_id)) if user_id.isdigit() else None
    if actor is None:
        return None  # left, made inactive, or an id that never was: signed out
    name = identity.display_name(actor.id)
    return SignedIn(actor, name or actor.username)


def actor() -> Actor:
    return current_user.actor


def _account_key() -> str:
    # Per address and account, so one office behind a shared address does not lock each other out.
    return f"{get_remote_address()}:{request.form.get('username', '').strip().lower()}"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an address elsewhere (an open redirect)."""
    if not target:
        return url_for("web.tasks.inbox")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.tasks.inbox")
    return target


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    limiter.init_app(app)


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], key_func=_account_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 302)
@limiter.limit("60 per minute", methods=["POST"], deduct_when=lambda response: response.status_code != 302)
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    errors: dict[str, str] = {}
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        if not username:
            errors["username"] = "Enter your username"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 (a message, not a password)
        if not errors:
            found = authentication.authenticate(username, password)
            if found is not None:
                session.clear()  # a fresh session: nothing from before signing in carries over
                g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)  # its CSRF token went with it
                session.permanent = True
                login_user(SignedIn(found, ""))
                return redirect(_safe_next(request.form.get("next")))
            errors["username"] = "Enter a correct username and password"
        status = 400
    else:
        status = 200
    return render_template("sign_in.html", errors=errors, username=username,
                           next=request.values.get("next", "")), status


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    authentication.sign_out(actor())
    logout_user()
    session.clear()
    return redirect(url_for("web.auth.sign_in", signed_out=1))
