"""Browser tests: Debian's chromium driven by Playwright against the app served by a real WSGI server on a
free loopback port, over its own SQLite file migrated by Alembic. axe-core checks every page a test visits."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.web.auth import limiter
from processes.engine import repository
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.identity import authentication
from processes.identity import users as identity
from tests.support.factories import bundle
from tests.support.services import skip_or_fail
from tests.support.web import served

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ASSETS = ROOT / "app" / "web" / "static" / "build" / "app.css"
PASSWORD = "browser-test-password"
PATHWAY = "browser"


@dataclass
class Server:
    app: Flask
    url: str


def serve(tmp_path_factory, pathway_key: str = PATHWAY, settings: dict | None = None) -> Iterator[Server]:
    """The app on a free loopback port, over a fresh SQLite file, with any further `settings`; its thread
    runs in this process, so time_machine moves its clock too."""
    if not ASSETS.is_file():
        skip_or_fail("The web assets are not built (make setup runs npm ci and npm run build)")
    if not AXE.is_file():
        skip_or_fail("node_modules/axe-core is missing: make setup installs it with npm ci")
    database = tmp_path_factory.mktemp("browser") / "web.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "PATHWAY_KEY": pathway_key,
                      "SIGN_IN_RATE_LIMIT": "100 per minute", **(settings or {})})
    with app.app_context():
        upgrade()
    with served(app) as url:
        yield Server(app, url)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    yield from serve(tmp_path_factory)


@dataclass
class World:
    """The browser test's data: areas, users with passwords, the screening pathway deployed."""

    server: Server
    actors: dict[str, Actor] = field(default_factory=dict)

    def user(self, username: str, *roles: str, areas: tuple[str, ...] = ("north",)) -> Actor:
        with self.server.app.app_context():
            identity.create_user(username, username.replace("-", " ").title(), list(roles), list(areas))
            authentication.set_password(username, PASSWORD)
            self.actors[username] = Actor.of(identity.get_user(username))
        return self.actors[username]

    def run(self, fn: Callable, *args, **kwargs):
        """Call the service layer directly, in the served app's database, for set-up and checks."""
        with self.server.app.app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()


@pytest.fixture
def world(server) -> Iterator[World]:
    limiter.reset()
    with server.app.app_context():
        identity.create_area("north", "Northshire North")
        identity.create_area("south", "Northshire South")
        repository.deploy(None, PATHWAY, bundle("screening"))
        db.session.remove()
    yield World(server)
    empty_tables(server.app)


class AxeChecked:
    """Runs axe-core on each page it is asked to and remembers which; the test's end checks none was missed."""

    def __init__(self) -> None:
        self.visited: list[str] = []
        self.checked: set[str] = set()

    def watch(self, page) -> None:
        page.on("framenavigated", lambda frame: self.visited.append(frame.url) if frame == page.main_frame else None)

    def check(self, page) -> None:
        page.wait_for_load_state("load")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not serious, f"axe-core found serious or critical problems on {page.url}: {serious}"
        self.checked.add(page.url)


@pytest.fixture
def axe() -> Iterator[AxeChecked]:
    checker = AxeChecked()
    yield checker
    missed = [url for url in checker.visited if url not in checker.checked and url != "about:blank"]
    assert not missed, f"pages visited but never checked with axe-core: {missed}"


PHONE = 375  # px: a phone's width, at which no page may scroll sideways


@pytest.fixture
def browse(chromium, server, axe):
    """A new browser (own cookies) for a user; every page it opens is watched for the axe check."""
    contexts = []

    def open_browser(width: int = 1280):
        # Playwright injects axe-core as an inline script, which the app's Content-Security-Policy refuses.
        context = chromium.new_context(base_url=server.url, bypass_csp=True,
                                       viewport={"width": width, "height": 900 if width > PHONE else 740})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        axe.watch(page)
        return page

    yield open_browser
    for context in contexts:
        context.close()


def empty_tables(app: Flask) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.session.remove()


def sign_in(page, axe: AxeChecked, username: str) -> None:
    page.goto("/sign-in")
    axe.check(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/tasks")
    axe.check(page)


def screenshot(page, name: str, down_to: str | None = None) -> None:
    """Kept under docs/screenshots/ when MACE_SCREENSHOTS names that folder (make screenshots): the whole page,
    or with `down_to` the page from its top to the end of that element (a long page stays legible in a README)."""
    folder = os.environ.get("MACE_SCREENSHOTS")
    if folder:
        target = ROOT / folder
        target.mkdir(parents=True, exist_ok=True)
        clip = None
        if down_to is not None:
            box = page.locator(down_to).first.bounding_box()
            clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": box["y"] + box["height"] + 24}
        page.screenshot(path=str(target / f"{name}.png"), full_page=True, clip=clip)

