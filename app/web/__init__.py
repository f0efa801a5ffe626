"""The practitioners' web app: sign-in, inbox, task forms, case pages, referrals, oversight and MACE 1 meetings,
in GOV.UK Frontend."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from processes.engine.errors import ServiceError

from . import auth, display, meeting_pages, oversight_pages, views

web = Blueprint("web", __name__, static_folder="static", static_url_path="/static",
                template_folder=str(Path(__file__).resolve().parent.parent / "templates"))
csrf = CSRFProtect()
# Reachable without signing in; everything else asks for it.
PUBLIC_ENDPOINTS = {"web.sign_in", "web.static", "healthz"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Routes are added once per process; each app made by the factory then registers the same blueprint.
views.register(web)
auth.register(web)
oversight_pages.register(web)
meeting_pages.register(web)


def _is_web_request() -> bool:
    from app.api import is_api_request  # the API keeps its own bearer tokens and JSON errors

    return not is_api_request()


def _guard():
    """Every page but the public ones needs a signed-in user, and every web form its CSRF token."""
    if not _is_web_request():
        return None
    g.csp_nonce = secrets.token_urlsafe(16)
    if request.method in UNSAFE_METHODS:
        csrf.protect()
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    return None


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
    429: ("Too many attempts", "Wait a minute, then try again."),
}


def error_page(error: Exception):
    """GOV.UK error pages; messages name ids at most, never a child's details."""
    status = error.status if isinstance(error, ServiceError) else getattr(error, "code", 500) or 500
    if isinstance(error, CSRFError):
        title, body = "Your form could not be sent", "The page was open too long or your session ended. " \
                                                     "Go back, reload the page and try again."
    else:
        title, body = ERROR_PAGES.get(status, ("Sorry, there is a problem with the service", "Try again later."))
    if isinstance(error, ServiceError) and status not in (404,):
        body = error.message
    return render_template("error.html", title=title, body=body, status=status), status


def register_web(app: Flask) -> None:
    csrf.init_app(app)
    auth.init_app(app)
    display.register(app)
    app.register_blueprint(web)
    app.before_request(_guard)
    app.after_request(_headers)

