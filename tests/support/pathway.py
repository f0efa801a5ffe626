"""Driving the real MACE pathway in tests: a controllable clock, a person per role and valid answers per step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import time_machine
from sqlalchemy import select

from processes.engine import bundle_files, repository, runtime
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessInstance
from processes.identity.users import Actor
from processes.mace import cases
from processes.mace.demo import ANSWERS, PATHWAY_FOLDERS
from processes.mace.models import Case
from tests.support.tasks import open_tasks, swept

KEY = "mace"

ROLE_OF_STEP = {
    "screen": "referrer", "hub_decision": "hub_practitioner", "ric_record": "allocated_worker",
    "ric_plan": "ric_senior_practitioner", "share_plan": "allocated_worker", "circulate_plan": "business_support",
    "agency_update": "core_member", "mace1_outcome": "mace_chair", "disseminate": "core_member",
    "update_parents": "allocated_worker", "review_plan": "allocated_worker", "agree_escalation": "mace_chair",
    "agency_response": "core_member", "check_response": "mace_chair", "escalate_onwards": "mace_chair",
    "community_review": "allocated_worker", "universal_services": "allocated_worker",
    "return_interview": "missing_coordinator", "early_risk_review": "allocated_worker",
}


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
        for task in tasks:
            runtime.complete_task(self.people[task.role], task.id, {**ANSWERS[element_id], **answers})
        self.done.append(element_id)
        return tasks[-1]

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
    case = cases.create(people["referrer"], area, "Casey Fictional")
    runtime.start(people["referrer"], case.id, KEY)
    return Child(case, people, clock)


@contextmanager
def child_on_pathway(people: dict[str, Actor], start: datetime, area: str = "north") -> Iterator[Child]:
    """A new referral for a fictional child, started at `start` with the clock held there."""
    with time_machine.travel(start, tick=False) as clock:
        yield start_child(people, clock, area)
