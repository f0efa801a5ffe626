"""Signing in and out: Flask-Login over server-side sessions (identity.sessions) and argon2-checked passwords,
with a rate limit on attempts."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

from processes.engine.actors import Actor
from processes.engine.errors import InvalidInput
from processes.identity import authentication, sessions
from processes.identity import users as identity

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "web.auth.sign_in"
login_manager.login_message = None  # the sign-in page says why already
login_manager.session_protection = "strong"
limiter = Limiter(key_func=get_remote_address)
# The cookie's key for the server-side session's id (identity.sessions keeps only its digest).
SESSION_ID = "sid"
# In the session while its user, signed in with an administrator's one-time password, has not chosen their own.
MUST_CHANGE = "must_change_password"
# What such a session may still reach.
WHILE_CHANGING = {"web.auth.change_password", "web.auth.sign_out", "web.static"}


@dataclass
class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees them: their Actor (roles, areas) and their name to show."""

    actor: Actor
    display_name: str

    def get_id(self) -> str:
        return str(self.actor.id)


def _limits() -> sessions.Limits:
    return sessions.Limits(idle=current_app.config["SESSION_IDLE_TIMEOUT"],
                           lifetime=current_app.config["SESSION_LIFETIME"])


@login_manager.user_loader
def _load(user_id: str) -> SignedIn | None:
    # The cookie alone opens nothing: its session must still be live in the table (not signed out, ended by
    # an administrator, idle too long or too old) and its user active.
    session_id = session.get(SESSION_ID)
    found = sessions.resume(session_id, _limits()) if isinstance(session_id, str) else None
    if found is None or str(found.id) != user_id:
        return None
    name = identity.display_name(found.id)
    return SignedIn(found, name or found.username)


def begin(found: Actor) -> None:
    """Sign the user in on a new server-side session; nothing from before signing in carries over."""
    session.clear()
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)  # its CSRF token went with it
    # Not permanent: the cookie ends with the browser, the server ends the session after its idle timeout or
    # lifetime, and Flask-Login's strong protection can drop a session whose address or browser changed.
    session[SESSION_ID] = sessions.start(found.id, _limits())
    login_user(SignedIn(found, ""))


def actor() -> Actor:
    return current_user.actor


def _account_key() -> str:
    # Per address and account, so one office behind a shared address does not lock each other out.
    return f"{get_remote_address()}:{request.form.get('username', '').strip().lower()}"


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an address elsewhere (an open redirect)."""
    if not target:
        return url_for("web.tasks.inbox")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.tasks.inbox")
    return target


def sign_in_options() -> dict:
    """What the sign-in page offers: single sign-on (its name, when configured) and the password form."""
    config = current_app.config
    return {"sso_name": config["OIDC_NAME"] if config["OIDC_ISSUER"] else None,
            "passwords": config["PASSWORD_SIGN_IN"]}


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    limiter.init_app(app)


@limiter.request_filter
def _not_signing_in() -> bool:
    # Only signing in is limited: telling the limiter so spares every other request, API steps included, its
    # lookup of which limits apply.
    return request.endpoint != "web.auth.sign_in"


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], key_func=_account_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 302)
@limiter.limit("60 per minute", methods=["POST"], deduct_when=lambda response: response.status_code != 302)
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    errors: dict[str, str] = {}
    username = request.form.get("username", "").strip()
    if request.method == "POST" and not current_app.config["PASSWORD_SIGN_IN"]:
        # Local passwords are switched off: even a right one signs nobody in.
        errors["sso"] = "Sign in with your organisation's account instead."
        status = 400
    elif request.method == "POST":
        password = request.form.get("password", "")
        if not username:
            errors["username"] = "Enter your username"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 (a message, not a password)
        if not errors:
            found = authentication.authenticate(username, password)
            if found is not None:
                begin(found)
                if authentication.must_change_password(found.id):
                    session[MUST_CHANGE] = True  # every page sends them to choose one until they have
                    return redirect(url_for("web.auth.change_password"))
                return redirect(safe_next(request.form.get("next")))
            errors["username"] = "Enter a correct username and password"
        status = 400
    else:
        status = 200
    return render_template("sign_in.html", errors=errors, username=username,
                           next=request.values.get("next", ""), **sign_in_options()), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """After signing in with a one-time password: the user chooses their own."""
    if not session.get(MUST_CHANGE):
        return redirect(url_for("web.tasks.inbox"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            authentication.change_own_password(actor(), request.form.get("password", ""),
                                               request.form.get("again", ""))
        except InvalidInput as invalid:
            errors = {name: messages[0] for name, messages in invalid.errors.items()}
        else:
            session.pop(MUST_CHANGE)
            flash("Your password is changed.", "success")
            return redirect(url_for("web.tasks.inbox"))
    return render_template("change_password.html", errors=errors), 400 if errors else 200


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    authentication.sign_out(actor())
    sessions.end(session[SESSION_ID])
    logout_user()
    session.clear()
    return redirect(url_for("web.auth.sign_in", signed_out=1))
