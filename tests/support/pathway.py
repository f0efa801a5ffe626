"""Driving the real MACE pathway in tests: the bundle deployed, a controllable clock and valid answers per step."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import select

from processes.engine import bundle_files, repository, runtime
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessInstance
from processes.identity import users as identity
from processes.mace.demo import ANSWERS, PATHWAY_FOLDERS
from processes.mace.models import Case
from processes.mace.timescales import FILE_NAME, WEEKDAYS, Meeting, Timescales
from processes.mace.working_days import UK
from tests.support.factories import start_case
from tests.support.tasks import open_tasks, swept

KEY = "mace"
MONDAY = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # the day the tests' children are referred
TO_MACE1 = ["screen", "hub_decision", "ric_record", "ric_plan"]
BEFORE_MEETING = ["share_plan", "circulate_plan", "agency_update"]

ROLE_OF_STEP = {
    "screen": "referrer", "hub_decision": "hub_practitioner", "ric_record": "allocated_worker",
    "ric_plan": "ric_senior_practitioner", "share_plan": "allocated_worker", "circulate_plan": "business_support",
    "agency_update": "core_member", "mace1_outcome": "mace_chair", "disseminate": "core_member",
    "update_parents": "allocated_worker", "review_plan": "allocated_worker", "agree_escalation": "mace_chair",
    "agency_response": "core_member", "check_response": "mace_chair", "escalate_onwards": "mace_chair",
    "community_review": "allocated_worker", "universal_services": "allocated_worker",
    "return_interview": "missing_coordinator", "early_risk_review": "allocated_worker",
}


def uk(*args: int) -> datetime:
    """A time on UK clocks, as UTC."""
    return datetime(*args, tzinfo=UK).astimezone(UTC)


def deploy_pathway(files: dict[str, str] | None = None):
    definition, _ = repository.deploy(None, KEY, files or bundle_files.read_folder(*PATHWAY_FOLDERS))
    return definition


@dataclass
class Child:
    """One fictional child's case on the pathway, moved on step by step by the people of its area."""

    case: Case
    people: dict[str, Actor]
    clock: time_machine.Coordinates
    done: list[str] = field(default_factory=list)

    def open_steps(self) -> list[str]:
        """The element ids of the open steps, each once (a step run per agency is open once per agency)."""
        return sorted({t.element_id for t in open_tasks(self.case.id)})

    def steps(self, element_id: str) -> list[HumanTask]:
        return [t for t in open_tasks(self.case.id) if t.element_id == element_id]

    def step(self, element_id: str) -> HumanTask:
        [task] = self.steps(element_id)
        return task

    def complete(self, element_id: str, **answers: Any) -> HumanTask:
        """Complete the open step, or every open instance of it (one per agency), by its role's person."""
        tasks = self.steps(element_id)
        assert tasks, f"{element_id} is not open: {self.open_steps()}"
        given = {**ANSWERS[element_id], **answers}
        if given.get("hub_decision") == "allocate":
            given.setdefault("allocated_worker", self.people["allocated_worker"].username)
        for task in tasks:
            runtime.complete_task(self.actor_for(task), task.id, given)
        self.done.append(element_id)
        return tasks[-1]

    def actor_for(self, task: HumanTask) -> Actor:
        """Who does the step: its role's person, or, for a step kept to one agency, that agency's core member
        (made, in the role's person's areas, the first time one is needed)."""
        if not task.group_code:
            return self.people[task.role]
        key = f"{task.role}:{task.group_code}"
        if key not in self.people:
            base = self.people[task.role]
            username = f"{base.username}-{task.group_code}"
            identity.create_user(username, username, [task.role], sorted(base.areas), agency=task.group_code)
            self.people[key] = Actor.of(identity.get_user(username))
        return self.people[key]

    def travel(self, when: datetime) -> None:
        """Move the clock on and let the sweep fire whatever timers fell due, as the scheduler would."""
        self.clock.move_to(when)
        for instance_id in swept()["timers"]:
            runtime.fire_due_timers(instance_id)

    def instances(self) -> list[ProcessInstance]:
        db.session.expire_all()
        return list(db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == self.case.id)
                                       .order_by(ProcessInstance.id)))

    def state(self) -> str:
        """'running', or how the pathway ended: the status of its newest instance of the main process."""
        return [i for i in self.instances() if i.process_id == KEY][-1].status


def start_child(people: dict[str, Actor], clock: time_machine.Coordinates, area: str = "north") -> Child:
    """A new referral for a fictional child, now; children sharing one clock move through time together."""
    case, _ = start_case(people["referrer"], KEY, area=area)
    return Child(case, people, clock)


def walk(child: Child, steps: list[str], **answers_by_step: dict[str, Any]) -> None:
    """Complete each step in turn with its valid answers, overridden per step."""
    for step in steps:
        child.complete(step, **answers_by_step.get(step, {}))


@contextmanager
def child_on_pathway(people: dict[str, Actor], start: datetime, area: str = "north") -> Iterator[Child]:
    """A new referral for a fictional child, started at `start` with the clock held there."""
    with time_machine.travel(start, tick=False) as clock:
        yield start_child(people, clock, area)


# The bundle deployed: the shipped one, or a copy whose every timescale a process owner changed


@dataclass(frozen=True)
class PathwayBundle:
    """One deployable copy of the pathway (bpmn/ and forms/), and the timescales it was deployed with, from which
    the tests work out every due date they expect."""

    name: str
    folders: tuple[Path, ...]

    @cached_property
    def files(self) -> dict[str, str]:
        return bundle_files.read_folder(*self.folders)

    @cached_property
    def config(self) -> dict[str, Any]:
        return json.loads(self.files[FILE_NAME])

    @cached_property
    def scales(self) -> Timescales:
        return Timescales(copy.deepcopy(self.config))

    def deploy(self):
        return deploy_pathway(dict(self.files))

    def booked(self, at: datetime, area: str = "north", near: datetime | str | None = None) -> Meeting:
        """The MACE 1 meeting a case of `area` is booked onto at `at` (nearest `near`, for a review)."""
        with time_machine.travel(at, tick=False):
            return self.scales.book(area, near)

    def next_review(self, meeting: Meeting, area: str = "north") -> Meeting:
        """The meeting a case continuing for review after `meeting` is booked onto, once its outcome is in."""
        due = self.scales.after("review_after_mace1", meeting.starts_at)
        return self.booked(meeting.starts_at + timedelta(minutes=1), area, due)

    def without_holidays(self) -> Timescales:
        config = copy.deepcopy(self.config)
        config["mace1"]["holiday_periods"] = []
        return Timescales(config)


def end_of(day: date) -> datetime:
    """The last second of a UK day, as due dates given as a day are."""
    return datetime.combine(day, time(23, 59, 59), UK).astimezone(UTC)


SHIPPED = PathwayBundle("shipped", tuple(PATHWAY_FOLDERS))
# North's first MACE 1 with a plan deadline still ahead for a child referred on MONDAY, under the shipped timescales.
FIRST_MEETING = SHIPPED.booked(MONDAY).starts_at


def with_timescales(**steps: tuple[int, str]) -> dict[str, str]:
    """The shipped bundle's files with these timescales set, e.g. hub_decision=(1, "working_days"): for a test
    whose counts rest on one timescale, so that it states the value instead of relying on the shipped one."""
    files = dict(SHIPPED.files)
    config = copy.deepcopy(SHIPPED.config)
    for name, (amount, unit) in steps.items():
        config["timescales"][name].update(amount=amount, unit=unit)
    files[FILE_NAME] = json.dumps(config)
    return files


def changed_timescales(config: dict[str, Any]) -> dict[str, Any]:
    """The shipped timescales.json with every timescale changed, as a process owner might: working and calendar
    day counts +2, hours doubled, weeks and months +1, the plan window a week longer, each holiday period a week
    more, and each area's MACE 1 a day later in the week, later in the day, a week later in the month and with
    longer agenda items."""
    changed = copy.deepcopy(config)
    for entry in changed["timescales"].values():
        unit = entry["unit"]
        entry["amount"] = entry["amount"] * 2 if unit == "hours" else entry["amount"] + (
            1 if unit in ("weeks", "months") else 2)
    mace1 = changed["mace1"]
    mace1["plan_ready_days_before"] += 7
    for period in mace1.get("holiday_periods", []):
        period["extend_by_days"] += 7
    for cadence in (mace1["meetings"]["default"], *mace1["meetings"].get("by_area", {}).values()):
        cadence["weekday"] = WEEKDAYS[(WEEKDAYS.index(cadence["weekday"]) + 1) % 5]
        hour, minute = map(int, cadence["time"].split(":"))
        cadence["time"] = f"{(hour + 4) % 24:02d}:{(minute + 30) % 60:02d}"
        if "week_of_month" in cadence:
            cadence["week_of_month"] = cadence["week_of_month"] % 4 + 1
        if "minutes_per_case" in cadence:
            cadence["minutes_per_case"] += 5
    return changed


def changed_bundle(folder: Path) -> PathwayBundle:
    """A copy of the shipped bpmn/ and forms/ under `folder`, its timescales.json changed by `changed_timescales`."""
    copies = []
    for source in PATHWAY_FOLDERS:
        copies.append(Path(shutil.copytree(source, folder / source.name)))
    config_file = next(path / FILE_NAME for path in copies if (path / FILE_NAME).is_file())
    config_file.write_text(json.dumps(changed_timescales(SHIPPED.config), indent=2), encoding="utf-8")
    return PathwayBundle("changed", tuple(copies))
