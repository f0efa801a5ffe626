"""The one set of test factories: people (users with roles and areas), cases started on a pathway, and bundles."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processes.engine import bundle_files, runtime
from processes.engine.actors import Actor
from processes.engine.models import ProcessInstance
from processes.identity import users as identity
from processes.mace import cases
from processes.mace.models import Case
from processes.mace.roles import ROLES
from tests.support.tasks import open_task

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
BOTH_AREAS = ("north", "south")
# What the factories' own areas and people leave in the audit log, for tests that read the rest of it.
SET_UP_ACTIONS = ("area.add", "user.add")
CHILD = "Casey Fictional"


# People


@dataclass(frozen=True)
class Person:
    """Who to make: roles, areas, and optionally a username and an email address (username@example.org)."""

    roles: tuple[str, ...]
    areas: tuple[str, ...] = ("north",)
    username: str | None = None
    email: bool = False


def person(*roles: str, areas: Iterable[str] = ("north",), username: str | None = None,
           email: bool = False) -> Person:
    return Person(tuple(roles), tuple(areas), username, email)


class PeopleFactory:
    """Makes users in the test database and returns each as an Actor. Usernames not given are user1, user2..."""

    def __init__(self) -> None:
        self._counter = iter(range(1, 10_000))

    def actor(self, *roles: str, areas: Iterable[str] = ("north",), username: str | None = None,
              email: str | None = None) -> Actor:
        name = username or f"user{next(self._counter)}"
        identity.create_user(name, name.title(), list(roles), list(areas), email)
        return Actor.of(identity.get_user(name))

    def of(self, spec: Person) -> Actor:
        email = f"{spec.username}@example.org" if spec.email and spec.username else None
        return self.actor(*spec.roles, areas=spec.areas, username=spec.username, email=email)

    def people(self, *, every_role: Iterable[str] | None = None, usernames: Callable[[str], str] | None = None,
               **named: Person) -> dict[str, Actor]:
        """With `every_role` (areas), one person per pathway role in those areas, keyed by role (named by
        `usernames(role)` if given); then each named person, in the order given."""
        made: dict[str, Actor] = {}
        if every_role is not None:
            areas = tuple(every_role)
            for role in ROLES:
                made[role] = self.actor(role, areas=areas, username=usernames(role) if usernames else None)
        for key, spec in named.items():
            made[key] = self.of(spec)
        return made


def create_areas() -> str:
    """The two areas every test database has; returns the usual one."""
    identity.create_area("north", "North")
    identity.create_area("south", "South")
    return "north"


# Cases


def start_case(referrer: Actor, key: str, child: str = CHILD, area: str = "north",
               data: dict[str, Any] | None = None) -> tuple[Case, ProcessInstance]:
    """A new case for a fictional child with the process `key` started on it."""
    case = cases.create(referrer, area, child)
    instance = runtime.start(referrer, case.id, key, data)
    return case, instance


def screen(referrer: Actor, case_id: int, exploitation_types: Iterable[str] = ("online",),
           concern: str = "Messages from an adult") -> None:
    """Complete the screening step of a test bundle (tests/bundles/screening and its kin)."""
    runtime.complete_task(referrer, open_task(case_id, "screen").id,
                          {"exploitation_types": list(exploitation_types), "concern": concern})


# Bundles


def bundle(name: str) -> dict[str, str]:
    """The files of a small test bundle in tests/bundles/<name>."""
    return bundle_files.read_folder(BUNDLES / name)
