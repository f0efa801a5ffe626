"""Single sign-on with OpenID Connect: Authlib sends the user to the council's identity provider and checks
the ID token it sends back (signature, issuer, audience, expiry, nonce; PKCE); identity.sso matches the user."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from app.config import ConfigError
from processes.identity import sso

from . import auth
from .params import base_url

bp = Blueprint("sso", __name__)
PROVIDER = "council"
# Kept in the session while the user is away at the provider; the sign-in starts a fresh session after.
NEXT = "sso_next"
REFUSED = ("Your account is not set up for this service, or has no role or area in it. "
           "Ask the service's administrator to add you.")
FAILED = "Signing in with your organisation's account did not finish. Try again."


@dataclass(frozen=True)
class Client:
    """The app's OpenID Connect client and how claims become a user."""

    oauth: OAuth
    rules: sso.Rules


def init_app(app: Flask) -> None:
    """Register the client when OIDC_ISSUER is set; a bad OIDC_GROUP_MAP stops the app starting, naming it."""
    if not app.config["OIDC_ISSUER"]:
        return
    oauth = OAuth(app)
    oauth.register(
        PROVIDER, client_id=app.config["OIDC_CLIENT_ID"], client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["OIDC_SCOPES"], "code_challenge_method": "S256"},
    )
    raw_map = app.config["OIDC_GROUP_MAP"]
    try:
        group_map = sso.GroupMap.parse(raw_map, app.config["OIDC_GROUPS_CLAIM"]) if raw_map else None
    except ValueError as error:
        raise ConfigError(str(error)) from None
    app.extensions["mace_sso"] = Client(oauth, sso.Rules(group_map, app.config["OIDC_TRUST_EMAIL"]))


def _client() -> Client:
    found = current_app.extensions.get("mace_sso")
    if found is None:
        raise NotFound()  # single sign-on is not configured
    return found


def _refused(message: str) -> ResponseReturnValue:
    return render_template("sign_in.html", errors={"sso": message}, username="", next="",
                           **auth.sign_in_options()), 400


@bp.get("/sign-in/sso")
def start() -> ResponseReturnValue:
    client = _client()
    session[NEXT] = auth.safe_next(request.args.get("next"))
    # From BASE_URL when set, not the request's Host: behind a proxy that ends TLS the request looks like plain http,
    # and the provider accepts only the address registered with it.
    back = base_url() + url_for("web.sso.callback")
    return client.oauth.create_client(PROVIDER).authorize_redirect(back)


@bp.get("/sign-in/sso/callback")
def callback() -> ResponseReturnValue:
    client = _client()
    try:
        token = client.oauth.create_client(PROVIDER).authorize_access_token()
    except OAuthError:
        # Cancelled at the provider, a replayed or forged callback (state or nonce), or a bad ID token.
        return _refused(FAILED)
    claims = token.get("userinfo")
    if not claims:
        return _refused(FAILED)  # no ID token came back: the scopes lack openid, or the provider is not OIDC
    result = sso.sign_in(claims, client.rules)
    if result.actor is None:
        return _refused(REFUSED)
    target = session.get(NEXT) or url_for("web.tasks.inbox")
    auth.begin(result.actor)
    return redirect(target)
