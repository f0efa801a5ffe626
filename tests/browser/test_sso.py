"""Single sign-on in Chromium: from the sign-in page, through a real OpenID provider's pages (oidc-provider
on Node, on loopback), to the inbox; then signing out."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from processes.engine.db import db
from processes.identity import users as identity
from tests.browser.conftest import Server, empty_tables, screenshot, serve
from tests.support import oidc


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory) -> Iterator[Server]:
    port = oidc.provider_port()
    servers = serve(tmp_path_factory, settings=oidc.settings(f"http://127.0.0.1:{port}"))
    server = next(servers)
    server.app.config["BASE_URL"] = server.url  # where users reach it, as a deployment sets it
    try:
        with oidc.provider(port, f"{server.url}/sign-in/sso/callback", tmp_path_factory.mktemp("oidc")):
            yield server
    finally:
        next(servers, None)


@pytest.fixture
def council(sso_server) -> Iterator[Server]:
    """A referrer kept here whose council account (at the provider) has the same, verified, email."""
    with sso_server.app.app_context():
        identity.create_area("north", "Northshire North")
        identity.create_user("rowan", "Rowan Testperson", ["referrer"], ["north"], "rowan.sso@example.org")
        db.session.remove()
    yield sso_server
    empty_tables(sso_server.app)


@pytest.mark.parametrize("width", [1280, 375])
def test_a_referrer_signs_in_through_the_council_provider_and_lands_in_the_inbox(chromium, council, axe, width):
    context = chromium.new_context(base_url=council.url, bypass_csp=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/sign-in")
        axe.check(page)
        if os.environ.get("MACE_SCREENSHOTS"):
            screenshot(page, f"sign-in-sso-{width}")
        page.get_by_role("button", name=f"Sign in with {oidc.NAME}").click()
        # The provider's own pages: its development sign-in form, then the consent to share the claims.
        page.locator("input[name=login]").fill("rowan.sso")
        page.locator("input[name=password]").fill("any-password")
        page.get_by_role("button", name="Sign-in").click()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{council.url}/tasks")
        axe.check(page)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_text("Signed in as Rowan Testperson")).to_be_visible()
        if page.get_by_role("button", name="Menu").is_visible():  # a phone's header folds its links away
            page.get_by_role("button", name="Menu").click()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("You have signed out.")).to_be_visible()
        page.goto("/tasks")
        expect(page).to_have_url(f"{council.url}/sign-in?next=/tasks")
    finally:
        context.close()
