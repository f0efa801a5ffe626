"""Single sign-on: the claims of a verified OpenID Connect ID token matched to a user by subject, or once by
verified email, with roles and areas kept here or mapped from a groups claim. Every attempt is audited."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from processes.engine import audit
from processes.engine.actors import Actor, known_roles
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.transaction import atomic
from processes.identity.models import Area, User, UserArea, UserRole

_USERNAME_CHARS = re.compile(r"[^a-z0-9._-]+")
USERNAME_LENGTH = 80


@dataclass(frozen=True)
class GroupMap:
    """Which roles and areas each group of the identity provider gives, and the claim listing a user's groups."""

    claim: str
    groups: Mapping[str, tuple[frozenset[str], frozenset[str]]]

    @classmethod
    def parse(cls, raw: str, claim: str) -> GroupMap:
        """From JSON such as {"<group id>": {"roles": ["<role>"], "areas": ["<area code>"]}}; ValueError naming
        the group and the key when it is not that shape or names a role that does not exist."""
        try:
            entries = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"OIDC_GROUP_MAP is not JSON: {error.msg} at character {error.pos}.") from None
        if not isinstance(entries, dict):
            raise ValueError('OIDC_GROUP_MAP must be an object: {"<group>": {"roles": [...], "areas": [...]}}.')
        groups = {}
        for group, entry in entries.items():
            if not isinstance(entry, dict) or set(entry) - {"roles", "areas"}:
                raise ValueError(f"OIDC_GROUP_MAP[{group!r}] must be an object with only 'roles' and 'areas'.")
            lists = {key: entry.get(key, []) for key in ("roles", "areas")}
            for key, values in lists.items():
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise ValueError(f"OIDC_GROUP_MAP[{group!r}].{key} must be a list of names.")
            unknown = sorted(set(lists["roles"]) - set(known_roles()))
            if unknown:
                raise ValueError(f"OIDC_GROUP_MAP[{group!r}].roles names unknown role(s): {', '.join(unknown)}.")
            groups[group] = (frozenset(lists["roles"]), frozenset(lists["areas"]))
        return cls(claim, groups)

    def grant(self, claims: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
        """The roles and areas the user's groups give together (none for groups the map does not name)."""
        named = claims.get(self.claim)
        mine = [self.groups[g] for g in named if isinstance(g, str) and g in self.groups] \
            if isinstance(named, list) else []
        return frozenset().union(*(r for r, _ in mine)), frozenset().union(*(a for _, a in mine))


@dataclass(frozen=True)
class Rules:
    """How claims become a user: the group map (None: roles and areas are kept here) and whether an email
    the provider does not mark verified may still match (for a provider, like Entra ID, that never says)."""

    group_map: GroupMap | None = None
    trust_email: bool = False


@dataclass(frozen=True)
class Result:
    """The signed-in user, or why not (for the audit row; the page says one thing for every refusal)."""

    actor: Actor | None
    refused: str | None = None


def _subject(claims: Mapping[str, Any]) -> str:
    return f"{claims['iss']} {claims['sub']}"


def _email(claims: Mapping[str, Any], rules: Rules) -> str | None:
    email = claims.get("email")
    verified = claims.get("email_verified") is True or rules.trust_email
    return email.strip().lower() if isinstance(email, str) and email.strip() and verified else None


def _match(claims: Mapping[str, Any], rules: Rules) -> tuple[User | None, str | None]:
    """The user of this subject; else the one user with this verified email and no subject yet."""
    subject = _subject(claims)
    user = db.session.scalar(select(User).where(User.sso_subject == subject))
    if user is not None:
        return user, None
    email = _email(claims, rules)
    if email is None:
        return None, "no user has this subject and the email is not verified"
    found = db.session.scalars(select(User).where(func.lower(User.email) == email)).all()
    if len(found) > 1:
        return None, "more than one user has this email"
    if not found:
        return None, "no user has this subject or email"
    if found[0].sso_subject is not None:
        return None, "the user with this email is matched to another subject"
    return found[0], None


def _free_username(claims: Mapping[str, Any]) -> str:
    wanted = claims.get("preferred_username") or claims.get("email") or claims["sub"]
    base = _USERNAME_CHARS.sub("-", str(wanted).lower()).strip("-")[:USERNAME_LENGTH - 4] or "user"
    taken = set(db.session.scalars(select(User.username).where(User.username.startswith(base))))
    return next(name for name in (base, *(f"{base}-{n}" for n in range(2, 1000))) if name not in taken)


def _provision(claims: Mapping[str, Any], rules: Rules) -> User:
    """A new user for a subject the group map gives access to; their roles and areas follow below."""
    user = User(username=_free_username(claims), display_name=str(claims.get("name") or claims["sub"])[:200],
                email=_email(claims, rules), created_at=now(), roles=[], areas=[])
    db.session.add(user)
    return user


def _apply_groups(user: User, roles: frozenset[str], existing: set[str]) -> None:
    """The user's roles and areas become exactly those their groups give (leaving a group takes its access)."""
    user.roles = [*(r for r in user.roles if r.role in roles),
                  *(UserRole(role=r) for r in sorted(roles - {r.role for r in user.roles}))]
    user.areas = [*(a for a in user.areas if a.area_code in existing),
                  *(UserArea(area_code=a) for a in sorted(existing - {a.area_code for a in user.areas}))]


def _refuse(user: User | None, reason: str) -> Result:
    audit.record(Actor.of(user) if user is not None else None, "user.sign_in_failed",
                 detail=f"single sign-on: {reason}")
    return Result(None, reason)


@atomic
def sign_in(claims: Mapping[str, Any], rules: Rules) -> Result:
    """The active user these verified claims (iss, sub, email, groups) are, or why not; always audited.

    Matched by email, the user keeps the subject, so later sign-ins match by it even if the email changes.
    With a group map, an unknown subject with a role and an area becomes a new user.
    """
    user, why = _match(claims, rules)
    if rules.group_map is None:
        if user is None:
            return _refuse(None, why or "no user matched")
    else:
        roles, named = rules.group_map.grant(claims)
        areas = set(db.session.scalars(select(Area.code).where(Area.code.in_(named))))
        if not roles or not areas:
            return _refuse(user, "the groups claim gives no role or no area that exists")
    if user is not None and not user.is_active:
        return _refuse(user, "the user is inactive")
    if user is None:
        user = _provision(claims, rules)
    user.sso_subject = _subject(claims)
    if rules.group_map is not None:
        _apply_groups(user, roles, areas)
    db.session.flush()
    actor = Actor.of(user)
    audit.record(actor, "user.sign_in", detail="single sign-on")
    return Result(actor)
