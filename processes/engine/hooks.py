"""The engine's extension points: what a pathway registers at start-up to add its own rules.

Modelled on Camunda's execution and task listeners and SpiffArena's script registry, and kept small:
- listeners for a step opened, a step completed and an instance ended, run inside the change's
  transaction, so whatever they queue commits or rolls back with the step;
- watchers of a value the open steps carry (a booking, say), told when it changes;
- bundle extensions: a configuration file a bundle may hold, parsed once per version, and the
  functions it offers diagrams' scripts and expressions;
- deploy checks, the lane → role resolver, the case directory, the sweep's jobs and the providers of
  forms' choices known only at run time (`x-options`).

The engine calls only what is registered here; it never imports the pathway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from SpiffWorkflow.task import Task

    from processes.engine.actors import Actor
    from processes.engine.bundle import ParsedBundle
    from processes.engine.errors import Problem
    from processes.engine.models import HumanTask, ProcessDefinition, ProcessInstance


@dataclass(frozen=True)
class StepOpened:
    """A user task became ready; `row` is its human_tasks row about to be written, which a listener may
    complete (its first alert time, say). `task` is SpiffWorkflow's task, for its data and properties."""

    instance: ProcessInstance
    task: Task
    row: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class StepCompleted:
    """A user task was completed with `data` (already valid against its form)."""

    actor: Actor | None
    definition: ProcessDefinition
    task: HumanTask
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class InstanceEnded:
    """An instance completed, or was cancelled; its open steps are already cancelled."""

    instance: ProcessInstance
    status: str
    at: datetime


@dataclass(frozen=True)
class Watched:
    """A watched value moved from `old` to `new` in an instance of a case."""

    instance: ProcessInstance
    case_id: int
    area_code: str
    old: Any
    new: Any
    at: datetime


class Watcher(Protocol):
    """Reads one value from an instance's open steps (ready user tasks and waiting timers) before and after
    each change; `changed` runs, in the change's transaction, only when the value differs."""

    def read(self, open_steps: Iterable[Task]) -> Any: ...

    def changed(self, change: Watched) -> None: ...


class BundleExtension(Protocol):
    """A configuration file a bundle may carry, as `timescales.json` carries a pathway's timescales."""

    file_name: str

    def check(self, text: str) -> list[str]:
        """Each way the file's text breaks its rules, as plain sentences; empty when it is fine."""

    def parse(self, text: str) -> Any:
        """The parsed configuration of one version, from text that `check` found fine."""

    def functions(self, config: Any) -> dict[str, Callable[..., Any]]:
        """What diagrams' scripts and expressions may call, bound to this version's configuration."""


@dataclass(frozen=True)
class Deployable:
    """A bundle that parsed, offered to the deploy checks before it becomes a version."""

    key: str
    files: dict[str, str]
    parsed: ParsedBundle


@dataclass(frozen=True)
class Job:
    """Work the sweep finds by an indexed query (`due(limit, after_id)` gives ids in order) and runs one id at
    a time (`run(id)` gives how many things it did). Every job must be safe to run twice or at once."""

    due: Callable[[int, int], list[int]]
    run: Callable[[int], int]


class CaseDirectory(Protocol):
    """Where the engine learns a case's area (the tenant its instances and tasks belong to)."""

    def area_of(self, case_id: int) -> str | None: ...


class ActorDirectory(Protocol):
    """Where the engine finds an active user, by username, to hand a task to."""

    def by_username(self, username: str) -> Actor | None: ...


def _no_role(_lane: str | None) -> str | None:
    return None


def _no_alerts(_due_at: datetime | None, _opened_at: datetime, _at: datetime, _escalates: bool,
               _raised: str | None) -> datetime | None:
    return None


# When an open step next needs an alert (a reminder, an overdue notice, an escalation), given its due time,
# when it opened, now, whether the diagram marks it `escalate`, and the kinds already raised (comma-separated).
AlertTime = Callable[[datetime | None, datetime, datetime, bool, str | None], datetime | None]


# Where a form field's choices come from when its schema says `"x-options": "<provider>:<argument>"`: the
# provider, given the argument and the step's area, lists (value, label) pairs (the users holding a role there).
OptionsProvider = Callable[[str, str], list[tuple[str, str]]]


@dataclass
class Hooks:
    """Everything registered; `processes.engine.hooks.HOOKS` is the one the engine reads."""

    step_opened: list[Callable[[StepOpened], None]] = field(default_factory=list)
    step_completed: list[Callable[[StepCompleted], None]] = field(default_factory=list)
    instance_ended: list[Callable[[InstanceEnded], None]] = field(default_factory=list)
    watchers: list[Watcher] = field(default_factory=list)
    extensions: list[BundleExtension] = field(default_factory=list)
    deploy_checks: list[Callable[[Deployable], Iterable[Problem]]] = field(default_factory=list)
    lane_role: Callable[[str | None], str | None] = _no_role
    alert_time: AlertTime = _no_alerts
    jobs: dict[str, Job] = field(default_factory=dict)
    form_options: dict[str, OptionsProvider] = field(default_factory=dict)
    cases: CaseDirectory | None = None
    actors: ActorDirectory | None = None
    installed: set[str] = field(default_factory=set)

    def extension_for(self, file_name: str) -> BundleExtension | None:
        return next((e for e in self.extensions if e.file_name == file_name), None)

    def area_of(self, case_id: int) -> str | None:
        if self.cases is None:
            raise RuntimeError("No case directory is registered: install a pathway's hooks first.")
        return self.cases.area_of(case_id)


HOOKS = Hooks()
