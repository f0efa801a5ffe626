"""The practitioners' web app in GOV.UK Frontend: one blueprint per feature (sign-in, tasks, cases, referrals,
MACE 1 meetings, oversight), each module holding its routes beside its views; here what they all share."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from app import edges
from processes.engine.errors import InvalidInput, ServiceError
from processes.mace import policy

from . import (
    admin_areas,
    admin_home,
    admin_incidents,
    admin_users,
    auditlog,
    auth,
    cases,
    display,
    meetings,
    notifications,
    oversight,
    plan_actions,
    records,
    referrals,
    search,
    sso,
    tasks,
)

# The built assets (app/web/static) at /static, and the templates every feature draws with.
web = Blueprint("web", __name__, static_folder="static", static_url_path="/static",
                template_folder=str(Path(__file__).resolve().parent.parent / "templates"))
# Each feature's endpoints are named under web (web.tasks.inbox): the API's blueprints have names like these.
for feature in (auth.bp, sso.bp, tasks.bp, cases.bp, referrals.bp, meetings.bp, oversight.bp, records.bp,
                auditlog.bp, notifications.bp, search.bp, plan_actions.bp, admin_home.bp, admin_users.bp,
                admin_areas.bp, admin_incidents.bp):
    web.register_blueprint(feature)
csrf = CSRFProtect()
# Reachable without signing in; everything else asks for it.
PUBLIC_ENDPOINTS = {"web.auth.sign_in", "web.sso.start", "web.sso.callback", "web.static", "healthz"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _is_web_request() -> bool:
    from app.api import is_api_request  # the API keeps its own bearer tokens and JSON errors

    return not is_api_request()


def _guard() -> ResponseReturnValue | None:
    """Every page but the public ones needs a signed-in user, and every web form its CSRF token."""
    if not _is_web_request():
        return None
    g.csp_nonce = secrets.token_urlsafe(16)
    if request.method in UNSAFE_METHODS:
        csrf.protect()
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("web.auth.sign_in", next=back))
    if session.get(auth.MUST_CHANGE) and request.endpoint not in auth.WHILE_CHANGING:
        return redirect(url_for("web.auth.change_password"))
    return None


def _refuse_control_characters() -> None:
    """No field of any page (sign-in, a filter, a form) may carry a control character: 400, naming the fields."""
    if not _is_web_request():
        return
    errors = edges.form_errors(request.args) | (edges.form_errors(request.form) if request.method in UNSAFE_METHODS
                                                else {})
    if errors:
        raise InvalidInput(f"Remove the control characters (such as NUL) from: {', '.join(sorted(errors))}. "
                           "Nothing was saved.", errors)


def _headers(response):
    if not _is_web_request():
        return response
    nonce = g.get("csp_nonce", "")
    # bpmn-js draws with inline style attributes, hence 'unsafe-inline' for styles only; scripts need the nonce.
    response.headers.setdefault("Content-Security-Policy", "; ".join([
        "default-src 'self'", f"script-src 'self' 'nonce-{nonce}'", "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:", "font-src 'self'", "object-src 'none'", "base-uri 'none'",
        "frame-ancestors 'none'", "form-action 'self'",
    ]))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "web.static":
        # Pages hold children's details: never keep them in a shared computer's cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


ERROR_PAGES = {
    400: ("There is a problem with that request", "Go back and try again."),
    403: ("You cannot do that", "Your role does not allow it. Ask your manager if you think it should."),
    404: ("Page not found", "If you typed the web address, check it is correct. "
                            "A case or task of an area you do not work in is not shown."),
    409: ("Someone else changed this first", "Go back, reload the page and try again."),
    413: ("That is too much to send", "Go back and send less: shorter answers, or fewer at once."),
    429: ("Too many attempts", "Wait a minute, then try again."),
}


def error_page(error: Exception) -> ResponseReturnValue:
    """GOV.UK error pages; messages name ids at most, never a child's details."""
    status = error.status if isinstance(error, ServiceError) else getattr(error, "code", 500) or 500
    if isinstance(error, CSRFError):
        title, body = "Your form could not be sent", "The page was open too long or your session ended. " \
                                                     "Go back, reload the page and try again."
    else:
        title, body = ERROR_PAGES.get(status, ("Sorry, there is a problem with the service", "Try again later."))
    if isinstance(error, ServiceError) and status not in (404,):
        body = display.refusal(error)
    return render_template("error.html", title=title, body=body, status=status), status


def _decisions() -> dict[str, policy.Decisions]:
    """`can` in every template: the policy's answers for the signed-in user, so no page works out a role itself."""
    signed_in = _is_web_request() and current_user.is_authenticated
    return {"can": policy.decisions_for(auth.actor() if signed_in else None)}


def register_web(app: Flask) -> None:
    csrf.init_app(app)
    auth.init_app(app)
    sso.init_app(app)
    display.register(app)
    app.register_blueprint(web)
    app.context_processor(_decisions)
    app.before_request(_guard)
    app.before_request(_refuse_control_characters)
    app.after_request(_headers)

