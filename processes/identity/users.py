"""Users, their roles and areas, and hashed API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import Forbidden, InvalidInput, NotFound
from processes.engine.transaction import atomic
from processes.identity.models import ApiToken, Area, User, UserArea, UserRole

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Role -> the permissions it holds, as the pathway registered them at start-up; its keys are the roles that exist.
_GRANTS: dict[str, frozenset[str]] = {}


def use_policy(grants: Mapping[str, Iterable[str]]) -> None:
    """The pathway's table of which role holds which permission, registered once at start-up.

    Identity and the engine check permissions only, so they never need the pathway's role names.
    """
    _GRANTS.clear()
    _GRANTS.update({role: frozenset(permissions) for role, permissions in grants.items()})


def known_roles() -> tuple[str, ...]:
    return tuple(_GRANTS)


def holders(permission: str) -> list[str]:
    """The roles holding a permission, in name order (for messages and for finding people to alert)."""
    return sorted(role for role, permissions in _GRANTS.items() if permission in permissions)


def forbidden(permission: str, what: str) -> Forbidden:
    return Forbidden(f"Only {', '.join(holders(permission)) or 'nobody'} can {what}.")


@dataclass(frozen=True)
class Actor:
    """Who is acting, with the roles and areas that decide what they may see, and the permissions their roles give."""

    id: int
    username: str
    roles: frozenset[str]
    areas: frozenset[str]
    # Worked out from the roles as the Actor is built, so it can never disagree with them.
    permissions: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "permissions", frozenset().union(*(_GRANTS.get(role, ()) for role in self.roles)))

    def may(self, permission: str | None) -> bool:
        return permission in self.permissions

    def require(self, permission: str, what: str) -> None:
        """Forbidden, naming the roles that could, unless the actor holds the permission."""
        if permission not in self.permissions:
            raise forbidden(permission, what)

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, frozenset(r.role for r in user.roles),
                   frozenset(a.area_code for a in user.areas))


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
    unknown_roles = sorted(set(roles) - set(_GRANTS))
    if unknown_roles:
        errors["roles"] = [f"Unknown role(s): {', '.join(unknown_roles)}. Known: {', '.join(_GRANTS)}."]
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


def actor_for_token(token: str) -> Actor | None:
    """The token's user with roles and areas, in one query; None for an unknown or revoked token."""
    # Tokens are 256 random bits, so a fast hash is safe here, unlike for passwords.
    live = select(ApiToken.user_id).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    return _roles_and_areas(User.id.in_(live.scalar_subquery()))


def _roles_and_areas(where) -> Actor | None:
    rows = db.session.execute(
        select(User.id, User.username, UserRole.role, UserArea.area_code)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .outerjoin(UserArea, UserArea.user_id == User.id)
        .where(where, User.is_active.is_(True))
    ).all()
    if not rows:
        return None
    return Actor(rows[0].id, rows[0].username, frozenset(r.role for r in rows if r.role),
                 frozenset(r.area_code for r in rows if r.area_code))


def actor_for_user(user_id: int) -> Actor | None:
    """An active user's roles and areas, in one query (read on every signed-in request)."""
    return _roles_and_areas(User.id == user_id)

