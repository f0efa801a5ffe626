"""Scheduler service: the sweep that finds due work through indexes alone, and the jobs that do it.

Celery workers, the embedded scheduler thread and `flask sweep` all call `sweep` and `run`; only how a
job travels from one to the other differs. Every job is safe to run twice or at once, so delivery can
be at least once while the effect is exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from processes.engine import incidents, runtime
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import NotFound, WorkflowFailed
from processes.engine.hooks import HOOKS
from processes.engine.models import Incident, Timer

log = logging.getLogger(__name__)

Enqueue = Callable[[str, list[int]], None]  # one job per id; a batch saves round trips to the broker


@dataclass(frozen=True)
class Outcome:
    """What one job did: how many timers fired, alerts were raised or emails sent; any incident it opened."""

    done: int
    incident_id: int | None = None


# The database or the network, not the diagram: the job is retried (by Celery, or the next sweep) instead.
INFRASTRUCTURE = (SQLAlchemyError, OSError)


def _fire_timers(instance_id: int) -> Outcome:
    """A failing diagram becomes an incident: sweeps then pass the instance by until an admin retries.

    Whatever else the instance's diagram makes the engine raise (a bug of SpiffWorkflow's, a SystemExit),
    BaseException included, is an incident too: left to the runner it would end a Celery worker or the
    embedded thread, and the next sweep would only meet it again.
    """
    try:
        return Outcome(len(runtime.fire_due_timers(instance_id)))
    except WorkflowFailed as failure:
        return _incident(instance_id, failure)
    except NotFound:
        return Outcome(0)  # removed since the sweep saw it
    except INFRASTRUCTURE:
        raise
    except KeyboardInterrupt:
        raise  # the operator's Ctrl-C: a script's own is already an error (scripting.ScriptAborted)
    except BaseException as exc:  # see above
        db.session.rollback()
        return _incident(instance_id, WorkflowFailed(None, f"the engine failed ({type(exc).__name__})"))


def _incident(instance_id: int, failure: WorkflowFailed) -> Outcome:
    incident = incidents.record(instance_id, failure)
    log.warning("instance %s: incident %s opened at element %s", instance_id, incident.id, failure.element_id)
    return Outcome(0, incident.id)


def jobs() -> list[str]:
    """The engine's own job, then the pathway's, in the order the sweep hands them on."""
    return ["timers", *HOOKS.jobs]


def _due_timers(limit: int, after: int) -> list[int]:
    has_open_incident = exists().where(Incident.status == "open", Incident.instance_id == Timer.instance_id)
    # Grouping by an expression rather than the bare column keeps SQLite on the fire_at index; on the
    # column it reads every timer through the (instance_id, spiff_task_id) index to spare a sort.
    instance = Timer.instance_id + 0
    return list(db.session.scalars(
        select(instance).where(Timer.fire_at <= now(), Timer.instance_id > after, ~has_open_incident)
        .group_by(instance).order_by(instance).limit(limit)))


def _due() -> dict[str, Callable[[int, int], list[int]]]:
    # Timers first, so that work run in process flows on within one sweep: a fired timer's new step can be
    # overdue at once (and the pathway registers its alerts before their emails).
    return {"timers": _due_timers, **{name: job.due for name, job in HOOKS.jobs.items()}}


def sweep(enqueue: Enqueue, limit: int = 1000) -> dict[str, int]:
    """Hand each job's due ids to `enqueue(job, ids)`, `limit` at a time, found through indexed due
    times and statuses alone; returns how many of each were handed on.

    It pages on past each batch by id, so a backlog (after an outage, say) is all queued in one sweep
    rather than `limit` per interval.
    """
    due_work = _due()
    handed = dict.fromkeys(due_work, 0)
    for job, due in due_work.items():
        after = 0
        while True:
            ids = due(limit, after)
            db.session.rollback()  # end the read before jobs start, so none waits on this snapshot
            if ids:
                enqueue(job, ids)
            handed[job] += len(ids)
            if len(ids) < limit:
                break
            after = ids[-1]
    return handed


def run(job: str, item_id: int) -> Outcome:
    """Run one job for one id; unknown job names are refused rather than guessed."""
    if job == "timers":
        return _fire_timers(item_id)
    if job not in HOOKS.jobs:
        raise ValueError(f"Unknown job '{job}'; known: {', '.join(jobs())}.")
    return Outcome(HOOKS.jobs[job].run(item_id))


@dataclass
class Report:
    """What a sweep run in this process did."""

    done: dict[str, int] = field(default_factory=lambda: dict.fromkeys(jobs(), 0))
    incident_ids: list[int] = field(default_factory=list)
    failed: list[tuple[str, int, str]] = field(default_factory=list)

    def run(self, job: str, ids: list[int]) -> None:
        for item_id in ids:
            try:
                outcome = run(job, item_id)
                self.done[job] += outcome.done
                self.incident_ids += [outcome.incident_id] if outcome.incident_id else []
            except BaseException as exc:  # one failing job must not stop the others; the next sweep retries it
                db.session.rollback()
                self.failed.append((job, item_id, type(exc).__name__))
                log.warning("%s job for %s failed: %s", job, item_id, type(exc).__name__)
                if isinstance(exc, KeyboardInterrupt):
                    raise  # the operator stopped the sweep; what failed so far is on record


def sweep_here(limit: int = 1000) -> Report:
    """Sweep and run every job in this process: the embedded scheduler and `flask sweep`."""
    report = Report()
    sweep(report.run, limit)
    return report
