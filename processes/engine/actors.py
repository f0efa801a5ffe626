"""Who is acting, as the engine sees them: an id, roles, areas, and the permissions those roles give.

Which role holds which permission is the pathway's policy, registered at start-up (`use_policy`); the
engine checks permissions only (`processes.engine.permissions`), so it never needs the pathway's role names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from processes.engine.errors import Forbidden

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
    roles = tuple(holders(permission))
    return Forbidden(f"Only {', '.join(roles) or 'nobody'} can {what}.", roles, what)


@dataclass(frozen=True)
class Actor:
    """Who is acting, with the roles and areas that decide what they may see, and the permissions their roles give."""

    id: int
    username: str
    roles: frozenset[str]
    areas: frozenset[str]
    # Groups within their roles (an agency, say) that steps narrowed to a group are for.
    groups: frozenset[str] = frozenset()
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
    def of(cls, user: Any) -> Actor:
        """From a user record with its roles (`.role`), areas (`.area_code`) and groups, as identity keeps them."""
        return cls(user.id, user.username, frozenset(r.role for r in user.roles),
                   frozenset(a.area_code for a in user.areas), frozenset(getattr(user, "groups", ())))
