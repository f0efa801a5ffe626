"""A real OpenID provider for tests: `oidc-provider` (npm) run with Node on a free loopback port, with one
fixed client and the fictional accounts of oidc_provider.mjs; and walking its sign-in pages over HTTP."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests

from tests.support.services import ROOT, Service, free_port, skip_or_fail

SCRIPT = ROOT / "tests" / "support" / "oidc_provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider"
CLIENT_ID = "mace-test-client"
CLIENT_SECRET = "mace-test-client-secret-not-real"  # the test provider's fixed client, not a secret
NAME = "Test Council account"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@dataclass
class Provider:
    """The provider, once started: its issuer URL and its process."""

    issuer: str
    service: Service


def settings(issuer: str) -> dict[str, str]:
    """The app's configuration for single sign-on through this provider."""
    return {"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_NAME": NAME, "OIDC_SCOPES": "openid email profile groups"}


def provider_port() -> int:
    """A port for the provider, chosen first: the app is configured with its issuer before it starts."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not installed: the single sign-on tests run a real OpenID provider with Node.js")
    if not PACKAGE.is_dir():
        skip_or_fail("node_modules/oidc-provider is missing: make setup installs it with npm ci")
    return free_port()


@contextmanager
def provider(port: int, redirect_uri: str, workdir: Path) -> Iterator[Provider]:
    """The provider on this port, its client allowed to return only to `redirect_uri`; stopped after."""
    node = shutil.which("node") or "node"
    service = Service.start("oidc-provider", [node, str(SCRIPT), str(port), CLIENT_ID, CLIENT_SECRET, redirect_uri],
                            workdir / "oidc-provider.log")
    try:
        service.wait_for_output("oidc-provider listening")
        yield Provider(f"http://127.0.0.1:{port}", service)
    finally:
        service.stop()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _submit(http: requests.Session, page: requests.Response, fields: dict[str, str]) -> requests.Response:
    """Post the page's form, its hidden fields and these, as the browser would."""
    action, body = _FORM.search(page.text).groups()
    data = {name: unescape(value) for name, value in _HIDDEN.findall(body)} | fields
    return http.post(urljoin(page.url, unescape(action)), data=data, timeout=10)


def sign_in_through_provider(http: requests.Session, app_url: str, login: str,
                             next_page: str | None = None) -> requests.Response:
    """Follow 'Sign in with …' (to come back to `next_page`) to the provider, sign in there as `login` (any
    password), agree to share, and return the app's answer to the provider's redirect back."""
    at_provider = http.get(f"{app_url}/sign-in/sso", params={"next": next_page} if next_page else None, timeout=10)
    assert 'name="login"' in at_provider.text, at_provider.text[:500]
    consent = _submit(http, at_provider, {"login": login, "password": "any-password-the-dev-form-ignores"})
    if 'name="prompt" value="consent"' not in consent.text:
        return consent  # the provider already had consent, or refused: this is the app's answer
    return _submit(http, consent, {})
