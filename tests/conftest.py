"""Test set-up: a real database (SQLite file by default, PostgreSQL when DATABASE_URL names it), migrated by Alembic."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.config import database_url
from processes.engine import repository
from processes.engine.actors import Actor
from processes.engine.db import db
from tests.support.factories import PeopleFactory, bundle, create_areas
from tests.support.services import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory) -> str:
    if not os.environ.get("DATABASE_URL"):
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    uri = database_url(Path("."))
    try:
        with create_engine(uri).connect() as conn:
            if conn.dialect.name == "postgresql":
                # Start from an empty schema so the migrations themselves are tested.
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                conn.commit()
    except Exception as exc:
        skip_or_fail(f"DATABASE_URL is set but the database is not reachable: {type(exc).__name__}")
    return uri


@pytest.fixture(scope="session")
def app(database_uri):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "TESTING": True})
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def ctx(app):
    """Each test runs in an app context against empty tables."""
    with app.app_context():
        yield
        db.session.rollback()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # The audit table's trigger refuses DELETE, even here; the tests' superuser may switch
                # ordinary triggers off for this one clean-up transaction.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.session.remove()


@pytest.fixture
def area() -> str:
    return create_areas()


@pytest.fixture
def people_factory(area) -> PeopleFactory:
    return PeopleFactory()


@pytest.fixture
def make_actor(people_factory) -> Callable[..., Actor]:
    """One new user with these roles (and areas, username, email), as an Actor."""
    return people_factory.actor


@pytest.fixture
def make_people(people_factory) -> Callable[..., dict[str, Actor]]:
    """The people a module needs, in one call: `make_people(every_role=BOTH_AREAS, extra=person(...))`."""
    return people_factory.people


@pytest.fixture
def deploy() -> Callable[..., object]:
    def deploy_(name: str, key: str | None = None, files: dict[str, str] | None = None):
        definition, _ = repository.deploy(None, key or name, files or bundle(name))
        return definition

    return deploy_


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium under Playwright, one for the whole run (a second sync Playwright cannot start)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium when run as root")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("Playwright is not installed (requirements-dev.txt)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        skip_or_fail(f"chromium would not start under Playwright: {type(exc).__name__}: {str(exc)[:200]}")
    yield browser
    browser.close()
    playwright.stop()
