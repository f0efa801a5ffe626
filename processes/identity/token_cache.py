"""A short-lived, per-process cache of API token -> actor, emptied whenever users, roles, areas or tokens change.

Every API request authenticates, and reading the token's user with roles and areas was a third of a step's
database work. A change made through this process (a revoked token, a deactivated user, a role taken away)
empties the cache when it is written, so it holds at once here; another server process sees it within
`seconds`, the bound README states. Only known tokens are cached: a new token works at once everywhere.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from processes.engine.actors import Actor

IDENTITY_TABLES = frozenset({"users", "user_roles", "user_areas", "api_tokens"})
_CHANGED = "identity_changed"  # session.info flag: an identity row was written in this transaction

_lock = threading.Lock()
_actors: dict[str, tuple[float, Actor]] = {}
_seconds = 0.0


def configure(seconds: float) -> None:
    """How long a looked-up actor is trusted; 0 turns the cache off."""
    global _seconds
    _seconds = seconds
    forget_all()


def lookup(digest: str) -> Actor | None:
    """The cached actor of a token's digest, if it was looked up within the last `seconds`."""
    held = _actors.get(digest)
    if held is None:
        return None
    if time.monotonic() - held[0] >= _seconds:
        with _lock:
            _actors.pop(digest, None)
        return None
    return held[1]


def keep(digest: str, actor: Actor) -> None:
    if _seconds > 0:
        with _lock:
            _actors[digest] = (time.monotonic(), actor)


def forget_all() -> None:
    with _lock:
        _actors.clear()


def _is_identity(instance: object) -> bool:
    table = getattr(instance, "__table__", None)
    return table is not None and table.name in IDENTITY_TABLES


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: object) -> None:
    if any(_is_identity(row) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True
        forget_all()


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and getattr(table, "name", None) in IDENTITY_TABLES:
        state.session.info[_CHANGED] = True
        forget_all()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # Emptied again once the change is visible: a request on another thread may have cached the old rows
    # between the flush and the commit.
    if session.info.pop(_CHANGED, False):
        forget_all()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)
