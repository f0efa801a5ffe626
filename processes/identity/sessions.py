"""Server-side web sessions: one row per signed-in browser, ended by signing out, by an administrator, by
deactivating the user, after an idle timeout or at the end of an absolute lifetime."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update

from processes.engine import audit, tasks
from processes.engine.actors import Actor
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.errors import InvalidInput
from processes.engine.transaction import atomic
from processes.identity.models import ApiToken, User, WebSession
from processes.identity.users import actor_for_user, get_user, require_manager

# Seen-at is written at most this often, so a busy user's every page is not a write.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Limits:
    """How long a session may sit unused, and how long it may last at all."""

    idle: timedelta
    lifetime: timedelta


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _expired(limits: Limits):
    cutoff = now()
    return or_(WebSession.last_seen_at <= cutoff - limits.idle, WebSession.created_at <= cutoff - limits.lifetime)


@atomic
def start(user_id: int, limits: Limits) -> str:
    """A new session for the user; the id is returned for the cookie and only its digest is kept."""
    # Every session that ran out goes now, so the table holds live sessions (and idle ones until the next
    # sign-in), and keeps no record of when people who stopped signing in last did.
    db.session.execute(delete(WebSession).where(_expired(limits)))
    session_id = secrets.token_urlsafe(32)
    at = now()
    db.session.add(WebSession(id_hash=_digest(session_id), user_id=user_id, created_at=at, last_seen_at=at))
    return session_id


def resume(session_id: str, limits: Limits) -> Actor | None:
    """The active user of a live session, noting it was used; None (and the row gone) once it has ended.

    Only reads on most requests: it writes when the session has ended or was last noted a minute ago or more.
    """
    id_hash = _digest(session_id)
    row = db.session.get(WebSession, id_hash)
    if row is None:
        return None
    at = now()
    seen = aware(row.last_seen_at)
    actor = actor_for_user(row.user_id)  # None once deactivated: the session ends with it
    if actor is None or seen <= at - limits.idle or aware(row.created_at) <= at - limits.lifetime:
        end(session_id)
        return None
    if at - seen >= TOUCH_EVERY:
        _touch(id_hash, at)
    return actor


@atomic
def _touch(id_hash: str, at: datetime) -> None:
    db.session.execute(update(WebSession).where(WebSession.id_hash == id_hash).values(last_seen_at=at))


@atomic
def end(session_id: str) -> None:
    """End one session (signing out): its cookie opens nothing any more."""
    db.session.execute(delete(WebSession).where(WebSession.id_hash == _digest(session_id)))


def _end_all(user: User) -> int:
    return db.session.execute(delete(WebSession).where(WebSession.user_id == user.id)).rowcount


@atomic
def end_all(by: Actor | None, username: str) -> int:
    """End every session of a user (a lost laptop, a left job); how many were live. Audited."""
    user = get_user(username)
    ended = _end_all(user)
    audit.record(by, "user.sessions_ended", detail=f"user {user.id}: {ended} session(s) ended")
    return ended


@dataclass(frozen=True)
class Deactivated:
    """What deactivating a user ended: web sessions, API tokens, and open steps returned to their role's pool."""

    sessions: int
    tokens: int
    steps: int


@atomic
def deactivate(by: Actor | None, username: str) -> Deactivated:
    """Make a user inactive: no sign-in, every session ended, every API token revoked, and their open steps back
    in their role's pool for a colleague to claim. Nobody can deactivate themselves. Audited."""
    require_manager(by)
    user = get_user(username)
    if by is not None and by.id == user.id:
        raise InvalidInput("Nobody was deactivated.",
                           {"user": ["You cannot deactivate yourself: ask another administrator."]})
    user.is_active = False
    ended = Deactivated(
        sessions=_end_all(user),
        tokens=db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                  .values(revoked_at=now())).rowcount,
        steps=tasks.release_assigned(by, user.id))
    audit.record(by, "user.deactivate", detail=f"user {user.id}: {ended.sessions} session(s) ended, "
                                               f"{ended.tokens} API token(s) revoked, {ended.steps} step(s) released")
    return ended
