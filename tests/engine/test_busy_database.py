"""A busy embedded database makes a change wait its turn for the write lock; it never fails the change."""

import sqlite3
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from processes.engine import runtime
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.mace import cases
from tests.support.tasks import open_task

CHANGES = 10


@pytest.fixture
def sqlite_file(app) -> str:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("the write lock taken at BEGIN is SQLite's: PostgreSQL writers never wait on one lock")
    return url.database


@pytest.fixture
def busy_writer(sqlite_file):
    """Another process's writer, as it were, committing small changes back to back until stopped."""
    stop, committed = threading.Event(), []

    def write() -> None:
        connection = sqlite3.connect(sqlite_file, timeout=10, isolation_level=None)
        try:
            while not stop.is_set():
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("INSERT INTO areas (code, name) VALUES (?, 'busy')", (f"busy-{len(committed)}",))
                connection.execute("COMMIT")
                committed.append(1)
                stop.wait(0.001)  # a steady writer, not one that starves every other of the lock
        finally:
            connection.close()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    yield committed
    stop.set()
    thread.join(timeout=30)


def test_changes_read_before_a_busy_writer_commits_still_complete(app, make_actor, deploy, busy_writer):
    """The request reads first (its token, the task), another writer commits meanwhile, then it writes.

    Begun as a reader, such a write used to fail at once with "database is locked" however long the busy
    timeout, and a handful of quick retries lost to a steady writer: the user saw a 500.
    """
    deploy("screening")
    referrer = make_actor("referrer")
    case_ids = []
    for _ in range(CHANGES):
        case = cases.create(referrer, "north", "Busy Child")
        runtime.start(referrer, case.id, "screening")
        case_ids.append(case.id)
    db.session.commit()

    for case_id in case_ids:
        task_id = open_task(case_id, "screen").id  # a read in the request's own transaction, before the change
        seen = len(busy_writer)
        while len(busy_writer) == seen:  # the other writer commits after that read
            threading.Event().wait(0.001)
        runtime.complete_task(referrer, task_id, {"exploitation_types": ["criminal"], "concern": "busy"})

    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.case_id.in_(case_ids), HumanTask.element_id == "hub_decision", HumanTask.status == "open",
    )) == CHANGES
