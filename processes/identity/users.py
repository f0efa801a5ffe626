"""Users, their roles, areas, team and agency; teams with their managers; and hashed API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable

from sqlalchemy import Select, bindparam, select

from processes.engine import audit
from processes.engine.actors import Actor, known_roles
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import InvalidInput, NotFound
from processes.engine.permissions import USERS_MANAGE
from processes.engine.transaction import atomic
from processes.identity import token_cache
from processes.identity.models import ApiToken, Area, Team, User, UserArea, UserRole

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# No spaces: a code goes into URLs and filters, a username is typed at sign-in.
AREA_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
USERNAME = re.compile(r"[^\s]{1,80}")
NAME_LIMIT = 200
# The agencies a user may speak for (code -> name), as the pathway configures them; registered at start-up.
_agencies: Callable[[], dict[str, str]] = dict


def use_agencies(source: Callable[[], dict[str, str]]) -> None:
    """Where the agencies a user may belong to come from: the pathway's configuration, never a list here."""
    global _agencies
    _agencies = source


def agencies() -> dict[str, str]:
    return _agencies()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def require_manager(by: Actor | None) -> None:
    """An administrator's change, or the operator's shell (no actor)."""
    if by is not None:
        by.require(USERS_MANAGE, "manage users and areas")


def _name_errors(name: str, field: str, what: str) -> dict[str, list[str]]:
    if not name:
        return {field: [f"Enter the {what}."]}
    if len(name) > NAME_LIMIT:
        return {field: [f"The {what} must be {NAME_LIMIT} characters or fewer."]}
    return {}


def list_areas(by: Actor | None) -> list[Area]:
    require_manager(by)
    return list(db.session.scalars(select(Area).order_by(Area.name)))


def get_area(by: Actor | None, code: str) -> Area:
    require_manager(by)
    area = db.session.get(Area, code)
    if area is None:
        raise NotFound(f"No area '{code}'.")
    return area


@atomic
def add_area(by: Actor | None, code: str, name: str) -> Area:
    """A new partnership area; its code is for good (cases and users name it), its name can change. Audited."""
    require_manager(by)
    code, name = code.strip(), name.strip()
    errors = _name_errors(name, "name", "area's name")
    if not AREA_CODE.fullmatch(code):
        errors["code"] = ["Enter a code of up to 40 letters, digits, hyphens or underscores, like north."]
    elif db.session.get(Area, code) is not None:
        errors["code"] = [f"The area code '{code}' is taken."]
    if errors:
        raise InvalidInput("The area was not added.", errors)
    area = Area(code=code, name=name)
    db.session.add(area)
    audit.record(by, "area.add", detail=f"area {code}")
    return area


@atomic
def rename_area(by: Actor | None, code: str, name: str) -> Area:
    area = get_area(by, code)
    name = name.strip()
    errors = _name_errors(name, "name", "area's name")
    if errors:
        raise InvalidInput("The area was not renamed.", errors)
    area.name = name
    audit.record(by, "area.rename", detail=f"area {code}")
    return area


@atomic
def create_area(code: str, name: str, by: Actor | None = None) -> Area:
    """Add the area, or rename it if it exists (the command line's and the demo's `areas add`)."""
    if db.session.get(Area, code) is None:
        return add_area(by, code, name)
    return rename_area(by, code, name)


@atomic
def create_team(name: str, area: str, manager: str | None = None) -> Team:
    """Add a team of an area, or change an existing team's area and manager (who must work in that area)."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Enter the team's name."]
    if db.session.get(Area, area) is None:
        errors["area"] = [f"Unknown area '{area}'."]
    manager_id = None
    if manager is not None:
        found = db.session.scalar(select(User).where(User.username == manager, User.is_active.is_(True)))
        if found is None or area not in {a.area_code for a in found.areas}:
            errors["manager"] = [f"No active user '{manager}' works in the area '{area}'."]
        else:
            manager_id = found.id
    if errors:
        raise InvalidInput("The team was not saved.", errors)
    team = db.session.scalar(select(Team).where(Team.name == name.strip()))
    if team is None:
        team = Team(name=name.strip())
        db.session.add(team)
    team.area_code, team.manager_id = area, manager_id
    db.session.flush()
    return team


def _team_and_agency_errors(team: str | None, agency: str | None, areas: list[str],
                            errors: dict[str, list[str]]) -> int | None:
    """The team's id, checking it exists in one of the user's areas and that the agency is a configured one."""
    known = agencies()
    if agency is not None and agency not in known:
        errors["agency"] = [f"Unknown agency '{agency}'. Known: {', '.join(known) or 'none configured'}."]
    if team is None:
        return None
    found = db.session.scalar(select(Team).where(Team.name == team))
    if found is None or found.area_code not in areas:
        errors["team"] = [f"No team '{team}' in the user's areas."]
        return None
    return found.id


def _role_errors(roles: list[str]) -> dict[str, list[str]]:
    if not roles:
        return {"roles": ["Choose at least one role."]}
    unknown_roles = sorted(set(roles) - set(known_roles()))
    if unknown_roles:
        return {"roles": [f"Unknown role(s): {', '.join(unknown_roles)}. Known: {', '.join(known_roles())}."]}
    return {}


def _area_errors(areas: list[str]) -> dict[str, list[str]]:
    if not areas:
        return {"areas": ["Choose at least one area."]}
    known_areas = set(db.session.scalars(select(Area.code).where(Area.code.in_(areas))))
    if set(areas) - known_areas:
        return {"areas": [f"Unknown area(s): {', '.join(sorted(set(areas) - known_areas))}."]}
    return {}


@atomic
def create_user(username: str, display_name: str, roles: list[str], areas: list[str],
                email: str | None = None, agency: str | None = None, team: str | None = None, *,
                by: Actor | None = None) -> User:
    """A new active user with roles and areas, and no password yet. Audited."""
    require_manager(by)
    username, display_name = username.strip(), display_name.strip()
    errors = _role_errors(roles) | _area_errors(areas) | _name_errors(display_name, "display_name", "name")
    if not USERNAME.fullmatch(username):
        errors["username"] = ["Enter a username of up to 80 characters, without spaces."]
    elif db.session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = [f"The username '{username}' is taken."]
    if email is not None and not EMAIL.fullmatch(email):
        errors["email"] = [f"'{email}' is not an email address (name@example.org)."]
    team_id = _team_and_agency_errors(team, agency, areas, errors)
    if errors:
        raise InvalidInput("The user was not created.", errors)
    user = User(username=username, display_name=display_name, email=email, created_at=now(),
                agency=agency, team_id=team_id,
                roles=[UserRole(role=r) for r in sorted(set(roles))],
                areas=[UserArea(area_code=a) for a in sorted(set(areas))])
    db.session.add(user)
    db.session.flush()  # its id, for the audit row
    audit.record(by, "user.add", detail=f"user {user.id}: roles {', '.join(sorted(set(roles)))}; "
                                        f"areas {', '.join(sorted(set(areas)))}")
    return user


def list_users(by: Actor) -> list[User]:
    """Every user, active ones first, by username: administrators run the service for all areas."""
    require_manager(by)
    return list(db.session.scalars(select(User).order_by(User.is_active.desc(), User.username)))


@atomic
def set_roles(by: Actor | None, username: str, roles: list[str]) -> User:
    """Give the user exactly these roles. Nobody can take away their own right to manage users. Audited."""
    require_manager(by)
    user = get_user(username)
    errors = _role_errors(roles)
    if (not errors and by is not None and by.id == user.id
            and not Actor(user.id, user.username, frozenset(roles), frozenset()).may(USERS_MANAGE)):
        errors["roles"] = ["You cannot remove your own administrator role: ask another administrator."]
    if errors:
        raise InvalidInput("The roles were not changed.", errors)
    wanted = set(roles)
    # Only the difference changes: removing and re-adding one row would clash on its primary key.
    user.roles = [r for r in user.roles if r.role in wanted] + \
        [UserRole(role=r) for r in sorted(wanted - {r.role for r in user.roles})]
    audit.record(by, "user.roles", detail=f"user {user.id}: {', '.join(sorted(wanted))}")
    return user


@atomic
def set_areas(by: Actor | None, username: str, areas: list[str]) -> User:
    """Put the user in exactly these areas. Audited."""
    require_manager(by)
    user = get_user(username)
    errors = _area_errors(areas)
    if errors:
        raise InvalidInput("The areas were not changed.", errors)
    wanted = set(areas)
    user.areas = [a for a in user.areas if a.area_code in wanted] + \
        [UserArea(area_code=a) for a in sorted(wanted - {a.area_code for a in user.areas})]
    audit.record(by, "user.areas", detail=f"user {user.id}: {', '.join(sorted(wanted))}")
    return user


@atomic
def set_team_and_agency(username: str, *, team: str | None = None, agency: str | None = None,
                        by: Actor | None = None) -> User:
    """Move a user to a team and set the agency they speak for (either left as it is when not given). Audited."""
    require_manager(by)
    user = get_user(username)
    errors: dict[str, list[str]] = {}
    team_id = _team_and_agency_errors(team, agency, [a.area_code for a in user.areas], errors)
    if errors:
        raise InvalidInput("The user was not changed.", errors)
    if team is not None:
        user.team_id = team_id
    if agency is not None:
        user.agency = agency
    audit.record(by, "user.team_agency", detail=f"user {user.id}: team {user.team_id}, agency {user.agency}")
    return user


def list_teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def team_of(user_id: int) -> Team | None:
    return db.session.scalar(select(Team).join(User, User.team_id == Team.id).where(User.id == user_id))


def area_names(codes: frozenset[str] | set[str]) -> dict[str, str]:
    """Area code -> name, for the areas given, in name order."""
    return {code: name for code, name in
            db.session.execute(select(Area.code, Area.name).where(Area.code.in_(codes)).order_by(Area.name))}


def get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user '{username}'.")
    return user


def user_by_id(by: Actor | None, user_id: int) -> User:
    """A user for an administrator's page, by id: usernames stay out of web addresses."""
    require_manager(by)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


@atomic
def create_token(username: str, name: str = "api") -> str:
    """A new API token for the user; the plain token is returned once and only its hash is kept."""
    user = get_user(username)
    token = "mace_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token), created_at=now()))
    return token


def _roles_and_areas_where(where) -> Select:
    return (select(User.id, User.username, User.agency, UserRole.role, UserArea.area_code)
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
                 frozenset(r.area_code for r in rows if r.area_code), frozenset({rows[0].agency} - {None}))


def actor_for_user(user_id: int) -> Actor | None:
    """An active user's roles and areas, in one query (read on every signed-in request)."""
    return _roles_and_areas(_BY_USER, {"user_id": user_id})



def by_username(username: str) -> Actor | None:
    """An active user as the engine sees them (the engine's actor directory: to hand a task to)."""
    user = db.session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
    return Actor.of(user) if user is not None else None


def display_name(user_id: int) -> str | None:
    return db.session.scalar(select(User.display_name).where(User.id == user_id))
