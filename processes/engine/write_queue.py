"""A change's writes, queued until its commit and sent together: on PostgreSQL in one round trip with COMMIT.

A step's writes (the instance's new state, its task and timer rows, the audit row) are not read back by
the step, so they need not cross the network one by one. Code that must read its own write, or needs
its row count, executes it directly instead of queueing it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, Table, Update, bindparam, case, event, inspect, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable

from processes.engine.db import db

_QUEUE = "mace_write_queue"
_WRITTEN = "mace_written_rows"
_KEPT = "mace_write_queue_kept"


class _AbortedPipelineNotice(logging.Filter):
    """psycopg warns when it leaves a pipeline that an error has already aborted. That error (a
    conflict, say) is raised to the caller anyway, so the warning is only noise on every conflict."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("error ignored terminating")


logging.getLogger("psycopg").addFilter(_AbortedPipelineNotice())
Params = dict[str, Any] | list[dict[str, Any]] | None


def queue(statement: Executable, params: Params = None) -> None:
    """Run this Core statement (on a table, not an entity) when the transaction commits.

    Build an INSERT with `.inline()`, so that it returns nothing the batch would have to wait for, and
    build statements once where you can: a statement object caches its compiled SQL.
    """
    db.session.info.setdefault(_QUEUE, []).append((statement, params))


def queue_kept(statement: Executable, params: Params = None) -> None:
    """Like `queue`, but written even when the change fails or the session just closes: the record of a
    refused request must outlive the refusal's rollback (see `_write_kept`)."""
    db.session.info.setdefault(_KEPT, []).append((statement, params))


def update_row(obj: Any, versioned: bool = False, **values: Any) -> None:
    """Queue an UPDATE of one mapped row by primary key; the object shows the new values at once.

    With `versioned`, the row's `version` moves on by one, and only from the version this transaction
    read: had it changed meanwhile, the write sets NULL, the NOT NULL constraint fails the commit, and
    `transaction.atomic` reports a Conflict. Unlike a row count, that check travels in the same batch.
    """
    mapper = inspect(obj).mapper
    [key] = mapper.primary_key
    params = {"row_key": getattr(obj, key.key), **{f"new_{name}": value for name, value in values.items()}}
    if versioned:
        params |= {"old_version": obj.version, "new_version": obj.version + 1}
        values = {**values, "version": obj.version + 1}
    queue(_update_statement(mapper.local_table, key, tuple(sorted(values)), versioned), params)
    for name, value in values.items():
        set_committed_value(obj, name, value)
    db.session.info.setdefault(_WRITTEN, {})[id(obj)] = obj


@cache
def _update_statement(table: Table, key: Column, names: tuple[str, ...], versioned: bool) -> Update:
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in names if name != "version"}
    if versioned:
        values["version"] = case((table.c.version == bindparam("old_version"), bindparam("new_version")),
                                 else_=None)
    return update(table).where(key == bindparam("row_key")).values(**values)


def commit(session: Session) -> None:
    """Send the queued writes and COMMIT; where the driver can pipeline (psycopg), as one round trip.

    The rows this change wrote by `update_row` stay loaded after the commit, as they are exactly what was
    committed (their rows were locked when read): the answer built from them (the completed task, say) need
    not read them back, as it would once the commit had expired them.
    """
    writes = (session.info.pop(_QUEUE, None) or []) + (session.info.pop(_KEPT, None) or [])
    if not writes:
        session.commit()
        return
    session.flush()  # ORM-pending rows first: queued rows may name them
    written = _loaded_values(session.info.pop(_WRITTEN, {}).values())
    driver = session.connection().connection.driver_connection
    if not hasattr(driver, "pipeline"):
        _send(session, writes)
        session.commit()
    else:
        with driver.pipeline():
            _send(session, writes)
            _commit_driver(session, driver)  # COMMIT in the same round trip as the writes
        # Only now, out of the pipeline, may the Session hand the connection back to the pool: left inside
        # it, the pipeline's closing sync ran on a connection another thread had taken (gunicorn's threads).
        session.commit()  # SQLAlchemy's own bookkeeping; the driver, idle, sends nothing more
    for obj, values in written:
        for name, value in values.items():
            set_committed_value(obj, name, value)


def _loaded_values(objects: Iterable[Any]) -> list[tuple[Any, dict[str, Any]]]:
    """Each object's loaded column values, as they stand once flushed and as reading them back would give them:
    SQLite returns its times without a zone (they are stored as UTC), so a kept time must not differ in kind
    from one read in the next request."""
    naive = db.session.get_bind().dialect.name == "sqlite"
    loaded = []
    for obj in objects:
        state = inspect(obj)
        loaded.append((obj, {attr.key: _as_read(state.dict[attr.key], naive) for attr in state.mapper.column_attrs
                             if attr.key in state.dict}))
    return loaded


def _as_read(value: Any, naive: bool) -> Any:
    if naive and isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _commit_driver(session: Session, driver: Any) -> None:
    """COMMIT on the driver, its failure raised as SQLAlchemy's, as `transaction.atomic` expects.

    A queued write that fails (the version guard's NOT NULL, say) is reported only at this COMMIT, by
    the driver itself, so SQLAlchemy has not wrapped it.
    """
    dbapi_error = session.get_bind().dialect.loaded_dbapi.Error
    try:
        driver.commit()
    except dbapi_error as exc:
        raise DBAPIError.instance("COMMIT", None, exc, dbapi_error) from exc


def _send(session: Session, writes: list[tuple[Executable, Params]]) -> None:
    # Core statements on tables need none of the ORM's handling of a statement, which cost more than the
    # database did; on the session's own connection they are still part of its transaction.
    connection = session.connection()
    for statement, params in writes:
        connection.execute(statement) if params is None else connection.execute(statement, params)


@event.listens_for(Session, "before_commit")
def _send_before_any_commit(session: Session) -> None:
    # A commit outside `commit()` (a test, a shell) must still write what was queued, and what was kept for a
    # refusal; its rows expire as usual.
    session.info.pop(_WRITTEN, None)
    writes = session.info.pop(_QUEUE, None) or []
    writes += session.info.pop(_KEPT, None) or []
    if writes:
        _send(session, writes)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, _previous_transaction) -> None:
    session.info.pop(_QUEUE, None)
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_transaction_end")
def _write_kept(session: Session, transaction) -> None:
    # A commit has sent them already; after a rollback, or a read-only session closing at the end of a
    # request, they go on a connection of their own, since this session's transaction is over.
    if transaction.parent is not None or not session.info.get(_KEPT):
        return
    writes = session.info.pop(_KEPT)
    with session.get_bind().begin() as connection:
        for statement, params in writes:
            connection.execute(statement) if params is None else connection.execute(statement, params)


def send_now(session: Session) -> None:
    """Send the queued writes now, inside the transaction, for a change that must read what it wrote
    earlier (a referral completes the screening step its own start just opened)."""
    writes = session.info.pop(_QUEUE, None)
    if writes:
        session.flush()
        _send(session, writes)
