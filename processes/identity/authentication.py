"""Signing in with a password: argon2 hashes, and an audit row for every sign-in, failure and sign-out."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.errors import InvalidInput
from processes.engine.transaction import atomic
from processes.identity import sessions
from processes.identity.models import User
from processes.identity.users import get_user, require_manager

MIN_PASSWORD_LENGTH = 12
READABLE = "abcdefghjkmnpqrstuvwxyz23456789"
_HASHER = PasswordHasher()
# Verified against when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not-a-real-password-only-for-timing")


@atomic
def set_password(username: str, password: str) -> None:
    """Store an argon2 hash of the user's new password; the password itself is never kept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("The password was not changed.",
                           {"password": [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})
    user = get_user(username)
    user.password_hash = _HASHER.hash(password)
    user.must_change_password = False


@atomic
def change_own_password(actor: Actor, password: str, again: str) -> None:
    """The signed-in user chooses their password (after a reset, at sign-in). Audited, never with it."""
    if password != again:
        raise InvalidInput("The password was not changed.", {"again": ["The two passwords are not the same."]})
    set_password(actor.username, password)
    audit.record(actor, "user.password_change")


def must_change_password(user_id: int) -> bool:
    """Whether the user signs in with a one-time password an administrator gave them."""
    return bool(db.session.scalar(select(User.must_change_password).where(User.id == user_id)))


@atomic
def reset_password(by: Actor | None, username: str) -> str:
    """A new random password for the user, returned once for the administrator to pass on; the user's sessions
    end with the old one. Audited, never with the password."""
    require_manager(by)
    user = get_user(username)
    if by is not None and by.id == user.id:
        raise InvalidInput("The password was not reset.",
                           {"user": ["You cannot reset your own password here: ask another administrator."]})
    # Groups of letters and digits that cannot be mistaken for each other when read out: about 79 bits.
    password = "-".join("".join(secrets.choice(READABLE) for _ in range(4)) for _ in range(4))
    set_password(username, password)
    user.must_change_password = True
    sessions.end_all(by, username)
    audit.record(by, "user.password_reset", detail=f"user {user.id}")
    return password


@atomic
def authenticate(username: str, password: str) -> Actor | None:
    """The active user whose password this is, or None; every attempt is audited, never with the password."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    hashed = user.password_hash if user is not None and user.is_active and user.password_hash else None
    try:
        _HASHER.verify(hashed or _DUMMY_HASH, password)
        ok = hashed is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        audit.record(Actor.of(user) if user is not None else None, "user.sign_in_failed")
        return None
    if _HASHER.check_needs_rehash(hashed):
        user.password_hash = _HASHER.hash(password)  # parameters were raised since it was stored
    actor = Actor.of(user)
    audit.record(actor, "user.sign_in")
    return actor


@atomic
def sign_out(actor: Actor) -> None:
    audit.record(actor, "user.sign_out")
