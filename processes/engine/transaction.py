"""One transaction per change: commit on success, undo everything on any error."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from processes.engine import write_queue
from processes.engine.db import db, writing
from processes.engine.errors import Conflict

P = ParamSpec("P")
R = TypeVar("R")
_SQLITE_RETRIES = 8
_IN_ATOMIC = "mace_in_atomic"
_CHANGED = "Someone else changed this case at the same moment. Reload it and try again."


def _stale_instance(exc: IntegrityError) -> bool:
    """The version guard of `write_queue.update_row` tripped: another change won the race."""
    message = str(exc.orig).lower()
    return "process_instances" in message and "version" in message and "null" in message


def _sqlite_busy(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def _begin_writing() -> None:
    """On SQLite, begin the change's transaction holding the write lock (see `db._sqlite_begin`)."""
    if db.session.get_bind().dialect.name != "sqlite":
        return
    if db.session().in_transaction():
        # What the request read before the change (its token, say) holds no lock and loses nothing: the
        # change reads afresh under the lock, and the version guard still catches a lost race.
        db.session.commit()
    token = writing.set(True)
    try:
        db.session.connection()
    finally:
        writing.reset(token)


def atomic(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a service call as one transaction.

    A concurrent writer that changed the same instance first turns this call into a Conflict. On
    SQLite a write that meets another writer's lock is retried from the start, so it re-reads fresh
    state and either succeeds or reports the conflict plainly.
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if db.session.info.get(_IN_ATOMIC):
            return fn(*args, **kwargs)  # part of an enclosing change: it commits or undoes the whole
        db.session.info[_IN_ATOMIC] = True
        try:
            return _run(fn, *args, **kwargs)
        finally:
            db.session.info.pop(_IN_ATOMIC, None)

    return wrapper


def _run(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call fn and commit; retry from the start while SQLite reports another writer's lock."""
    for attempt in range(_SQLITE_RETRIES):
        try:
            _begin_writing()
            result = fn(*args, **kwargs)
            write_queue.commit(db.session)
            return result
        except StaleDataError as exc:
            db.session.rollback()
            raise Conflict(_CHANGED) from exc
        except IntegrityError as exc:
            db.session.rollback()
            if _stale_instance(exc):
                raise Conflict(_CHANGED) from exc
            raise
        except OperationalError as exc:
            db.session.rollback()
            if not _sqlite_busy(exc) or attempt == _SQLITE_RETRIES - 1:
                raise
            time.sleep(0.005 * (attempt + 1))
        except BaseException:
            db.session.rollback()  # a refusal's own audit row survives it (write_queue.queue_kept)
            raise
    raise AssertionError("unreachable")
