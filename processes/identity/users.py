"""Users, their roles and areas, and hashed API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import Select, bindparam, select

from processes.engine.actors import Actor, known_roles
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import InvalidInput, NotFound
from processes.engine.transaction import atomic
from processes.identity import token_cache
from processes.identity.models import ApiToken, Area, User, UserArea, UserRole

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@atomic
def create_area(code: str, name: str) -> Area:
    area = db.session.get(Area, code)
    if area is None:
        area = Area(code=code, name=name)
        db.session.add(area)
    else:
        area.name = name
    return area


@atomic
def create_user(username: str, display_name: str, roles: list[str], areas: list[str],
                email: str | None = None) -> User:
    errors: dict[str, list[str]] = {}
    unknown_roles = sorted(set(roles) - set(known_roles()))
    if unknown_roles:
        errors["roles"] = [f"Unknown role(s): {', '.join(unknown_roles)}. Known: {', '.join(known_roles())}."]
    known_areas = set(db.session.scalars(select(Area.code).where(Area.code.in_(areas))))
    if set(areas) - known_areas:
        errors["areas"] = [f"Unknown area(s): {', '.join(sorted(set(areas) - known_areas))}."]
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = [f"The username '{username}' is taken."]
    if email is not None and not EMAIL.fullmatch(email):
        errors["email"] = [f"'{email}' is not an email address (name@example.org)."]
    if errors:
        raise InvalidInput("The user was not created.", errors)
    user = User(username=username, display_name=display_name, email=email, created_at=now(),
                roles=[UserRole(role=r) for r in sorted(set(roles))],
                areas=[UserArea(area_code=a) for a in sorted(set(areas))])
    db.session.add(user)
    return user


def area_names(codes: frozenset[str] | set[str]) -> dict[str, str]:
    """Area code -> name, for the areas given, in name order."""
    return {code: name for code, name in
            db.session.execute(select(Area.code, Area.name).where(Area.code.in_(codes)).order_by(Area.name))}


def get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user '{username}'.")
    return user


@atomic
def create_token(username: str, name: str = "api") -> str:
    """A new API token for the user; the plain token is returned once and only its hash is kept."""
    user = get_user(username)
    token = "mace_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token), created_at=now()))
    return token


def _roles_and_areas_where(where) -> Select:
    return (select(User.id, User.username, UserRole.role, UserArea.area_code)
            .outerjoin(UserRole, UserRole.user_id == User.id)
            .outerjoin(UserArea, UserArea.user_id == User.id)
            .where(where, User.is_active.is_(True)))


# Built once, as every request runs one of them: a statement object keeps its cache key and compiled SQL.
_BY_TOKEN = _roles_and_areas_where(User.id.in_(
    select(ApiToken.user_id).where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
    .scalar_subquery()))
_BY_USER = _roles_and_areas_where(User.id == bindparam("user_id"))


def actor_for_token(token: str) -> Actor | None:
    """The token's user with roles and areas, in one query; None for an unknown or revoked token."""
    # Tokens are 256 random bits, so a fast hash is safe here, unlike for passwords.
    digest = _digest(token)
    actor = token_cache.lookup(digest)
    if actor is None:
        actor = _roles_and_areas(_BY_TOKEN, {"token_hash": digest})
        if actor is not None:
            token_cache.keep(digest, actor)
    return actor


def _roles_and_areas(statement: Select, params: dict[str, object]) -> Actor | None:
    rows = db.session.connection().execute(statement, params).all()
    if not rows:
        return None
    return Actor(rows[0].id, rows[0].username, frozenset(r.role for r in rows if r.role),
                 frozenset(r.area_code for r in rows if r.area_code))


def actor_for_user(user_id: int) -> Actor | None:
    """An active user's roles and areas, in one query (read on every signed-in request)."""
    return _roles_and_areas(_BY_USER, {"user_id": user_id})



def by_username(username: str) -> Actor | None:
    """An active user as the engine sees them (the engine's actor directory: to hand a task to)."""
    user = db.session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
    return Actor.of(user) if user is not None else None


def display_name(user_id: int) -> str | None:
    return db.session.scalar(select(User.display_name).where(User.id == user_id))
