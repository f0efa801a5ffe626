"""Timer benchmark: one sweep over 100,000 waiting timers, and timers fired per second by two Celery workers.

Usage: python bench/timers.py [--timers N] [--due N] [--fire N] [--quick] [--database-url URL]
                              [--redis-url URL]
Prints one name=value per line (progress goes to stderr). With no DATABASE_URL it uses a fresh SQLite
file in a temporary folder, as bench/engine.py does; a database it is given is emptied first.

1. Sweep. A few instances of tests/bundles/screening are run through the service layer to the 72-hour
   timer `wait_followup`, one of them started 73 hours ago so that its timer is due. Their rows are then
   cloned with INSERT ... SELECT into --timers waiting timers (cases, instances with the real saved state,
   timer rows), of which exactly --due are due. `sweep_ms` is the median of timed `scheduler.sweep`
   calls handing the due work to `workers.tasks.enqueue` (Redis SET NX plus a Celery message), or to a
   list when Redis is unreachable (`sweep_enqueue=redis|memory`); the queue and the claim keys of what
   the last sweep handed on are emptied between runs. On a fresh database the pathway's weekly upkeep job
   (trend counts, meetings ahead) is due too; a deployed sweep runs it once a week, so it is run once
   first and the timed sweeps are the week's others, which check it but hand on only the due timers
   (`sweep_other_jobs`, expected 0, counts anything else handed on). `sweep_query_ms` times the due-timer
   query alone.
2. Firing (needs Redis). --fire instances are run through the service layer to the timer, 73 hours in
   the past, so all their timers are due. Two worker processes (`celery worker --concurrency=1`, twice)
   take the jobs that this process's sweep enqueues every second. `timers_fired_per_s` is the number
   of those timers over the seconds from the first enqueue until none of their timer rows is left;
   `duplicate_firings` counts `timer.fire` audit rows beyond one per instance, and
   `followup_tasks_missing` the instances without exactly one open follow-up task.

The jobs travel on their own Celery queue, so a shared Redis loses nothing; only that queue and the
claim keys of the bench's own ids are removed.

| target | limit |
| --- | --- |
| `sweep_ms` | at most 100 |
| `timers_fired_per_s` | at least 200 |
| `duplicate_firings` | 0 |
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path

import redis
import time_machine
from celery.signals import after_task_publish
from sqlalchemy import func, insert, literal, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common
from processes.engine import bundle_files, repository, runtime, scheduler
from processes.engine.actors import Actor
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask, Incident, ProcessInstance, Timer
from processes.engine.scheduler import Enqueue
from processes.identity import users as identity
from processes.mace import cases
from processes.mace.models import Case

SCREENING = ROOT / "tests" / "bundles" / "screening"
KEY = "bench-screening"
PROCESS = "screening"
TIMER = "wait_followup"
FOLLOWUP = "followup"
AREA = "bench-timers"
QUEUE = "mace-bench-timers"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
PAST = timedelta(hours=73)  # the timer waits 72 hours: instances started this long ago are due
BATCH = 20_000
WORKERS = 2
WARM_UP = 4 * WORKERS
SWEEP_EVERY = 1.0
POLL_EVERY = 0.2

Template = tuple[str, str, datetime]  # a waiting instance's saved state, its timer's Spiff task id and fire time


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


class Bench:
    def __init__(self, uri: str, redis_url: str | None, quick: bool, worker_options: list[str] | None = None):
        self.uri, self.redis_url, self.worker_options = uri, redis_url, worker_options or []
        self.app = common.app_for(uri, REDIS_URL=redis_url, SCHEDULER="off")
        self.samples = 15 if quick else 40
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None

    def setup(self) -> None:
        with self.app.app_context():
            common.fresh_database()
            identity.create_area(AREA, "Bench timers")
            suffix = f"{os.getpid()}-{time.time_ns()}"
            for role in ("referrer", "hub_practitioner"):
                identity.create_user(f"bench-{role}-{suffix}", "Bench user", [role], [AREA])
            self.referrer = Actor.of(identity.get_user(f"bench-referrer-{suffix}"))
            self.hub = Actor.of(identity.get_user(f"bench-hub_practitioner-{suffix}"))
            repository.deploy(None, KEY, bundle_files.read_folder(SCREENING))
            # Nothing waits yet, so this runs the weekly upkeep alone, as the first sweep of a week would:
            # the timed sweeps then measure the week's other sweeps, which only check it.
            scheduler.sweep_here()

    # Building instances

    def open_task_id(self, case_id: int, element_id: str) -> int:
        return db.session.scalar(select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id, HumanTask.status == "open"))

    def waiting_instance(self) -> int:
        """A case taken through the service layer to the 72-hour timer after the hub chose other services."""
        case = cases.create(self.referrer, AREA, "Bench child")
        instance = runtime.start(self.referrer, case.id, KEY)
        runtime.complete_task(self.referrer, self.open_task_id(case.id, "screen"),
                              {"exploitation_types": ["missing"], "concern": "Bench concern"})
        runtime.complete_task(self.hub, self.open_task_id(case.id, "hub_decision"), {"decision": "other_services"})
        return instance.id

    def waiting_instances(self, count: int, due: bool) -> list[int]:
        """`count` real waiting instances; with `due`, started 73 hours ago (the clock then runs on)."""
        with time_machine.travel(now() - PAST, tick=True) if due else nullcontext():
            return [self.waiting_instance() for _ in range(count)]

    def template(self, instance_id: int) -> Template:
        """The saved state of a waiting instance, its timer's Spiff task id and its fire time."""
        instance = db.session.get(ProcessInstance, instance_id)
        timer = db.session.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        return instance.state, timer.spiff_task_id, aware(timer.fire_at)

    def clone(self, count: int, template: Template) -> None:
        """`count` more cases, each with an instance in the template's state and its timer, by INSERT ... SELECT."""
        state, spiff_task_id, fire_at = template
        definition = repository.require_latest(KEY)
        at = now()
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            last_case = db.session.scalar(select(func.coalesce(func.max(Case.id), 0)))
            last_instance = db.session.scalar(select(func.coalesce(func.max(ProcessInstance.id), 0)))
            numbers = select(literal(1).label("n")).cte("numbers", recursive=True)
            numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < size))
            db.session.execute(insert(Case).from_select(
                ["area_code", "child_name", "created_at"],
                select(literal(AREA), literal("Bench child"), literal(at, Case.created_at.type)).select_from(numbers)))
            db.session.execute(insert(ProcessInstance).from_select(
                ["case_id", "definition_id", "process_id", "status", "state", "version", "started_at"],
                select(Case.id, literal(definition.id), literal(PROCESS), literal("running"),
                       literal(state, ProcessInstance.state.type), literal(1),
                       literal(at, ProcessInstance.started_at.type))
                .where(Case.id > last_case).order_by(Case.id)))
            db.session.execute(insert(Timer).from_select(
                ["instance_id", "spiff_task_id", "element_id", "fire_at"],
                select(ProcessInstance.id, literal(spiff_task_id), literal(TIMER), literal(fire_at, Timer.fire_at.type))
                .where(ProcessInstance.id > last_instance)))
            db.session.commit()

    def set_waiting(self, instance_ids: list[int], template: Template) -> None:
        """Make clones into clones of another template: its state, and its timer's task id and fire time."""
        state, spiff_task_id, fire_at = template
        db.session.execute(update(ProcessInstance).where(ProcessInstance.id.in_(instance_ids)).values(state=state))
        db.session.execute(update(Timer).where(Timer.instance_id.in_(instance_ids))
                           .values(spiff_task_id=spiff_task_id, fire_at=fire_at))
        db.session.commit()

    def populate(self, n_timers: int, n_due: int) -> list[int]:
        """n_timers waiting timers, exactly n_due of them due and spread evenly through the table.

        Returns the ids of the instances whose timers are due.
        """
        with self.app.app_context():
            start = time.perf_counter()
            [due_template] = self.waiting_instances(1, due=True)
            [future_template] = self.waiting_instances(1, due=False)
            first = db.session.scalar(select(func.max(ProcessInstance.id))) + 1
            self.clone(n_timers - 2, self.template(future_template))
            last = db.session.scalar(select(func.max(ProcessInstance.id)))
            step = max(1, (last - first + 1) // max(1, n_due - 1))
            due_ids = [first + i * step for i in range(n_due - 1)]
            self.set_waiting(due_ids, self.template(due_template))
            # Only the bulk-loaded tables: statistics of human_tasks taken now, while it holds the templates'
            # four rows, would make PostgreSQL plan the task lock of later steps as a merge join over every
            # instance (see the report on runtime._task_for_change).
            common.analyze("cases", "process_instances", "timers")
            say(f"built {n_timers} waiting timers ({n_due} due) in {time.perf_counter() - start:.1f}s")
            return [due_template, *due_ids]

    # Redis and the jobs queue

    @contextmanager
    def bench_queue(self) -> Iterator[Enqueue]:
        """The real enqueue (claim key, then a Celery message) with messages routed to the bench's queue."""
        from workers import tasks
        from workers.celery_app import celery

        before = celery.conf.task_default_queue
        celery.conf.task_default_queue = QUEUE
        try:
            yield tasks.enqueue
        finally:
            celery.conf.task_default_queue = before

    def clear_queue(self, instance_ids: list[int], handed: list[tuple[str, int]] | None = None) -> None:
        """Empty the bench's queue and remove the claim keys of these instances' timer jobs, and of any
        other job a sweep handed on: a claim left behind would keep that job's next message from being sent."""
        from workers.tasks import _claim_key

        assert self.redis is not None
        self.redis.delete(QUEUE)
        keys = [_claim_key("timers", i) for i in instance_ids] + [_claim_key(job, i) for job, i in handed or []]
        for start in range(0, len(keys), 1000):
            self.redis.delete(*keys[start:start + 1000])

    def queued(self) -> int:
        assert self.redis is not None
        return int(self.redis.llen(QUEUE))

    # 1. The sweep

    def sweep_timings(self, due_ids: list[int]) -> dict[str, object]:
        with self.app.app_context():
            handed: list[tuple[str, int]] = []
            waiting = db.session.scalar(select(func.count()).select_from(Timer))
            due = db.session.scalar(select(func.count()).select_from(Timer).where(Timer.fire_at <= now()))
            db.session.rollback()
            if self.redis is not None:
                with self.bench_queue() as enqueue:
                    def run(job: str, ids: list[int]) -> None:
                        handed.extend((job, item_id) for item_id in ids)
                        enqueue(job, ids)

                    sweeps = self.timed_sweeps(run, handed, due, lambda last: self.clear_queue(due_ids, last))
                    self.clear_queue(due_ids, handed)
            else:
                sweeps = self.timed_sweeps(lambda job, ids: handed.extend((job, i) for i in ids), handed, due,
                                           lambda last: None)
            queries = []
            for _ in range(self.samples):
                start = time.perf_counter()
                scheduler._due_timers(1000, 0)
                queries.append(common.ms(start))
                db.session.rollback()
        return {
            "waiting_timers": waiting,
            "due_timers": due,
            "sweep_enqueue": "redis" if self.redis is not None else "memory",
            "sweep_other_jobs": sum(job != "timers" for job, _ in handed),
            "sweep_ms": statistics.median(sweeps),
            "sweep_max_ms": max(sweeps),
            "sweep_query_ms": statistics.median(queries),
        }

    def timed_sweeps(self, enqueue: Enqueue, handed: list[tuple[str, int]], due: int,
                     reset: Callable[[list[tuple[str, int]]], None]) -> list[float]:
        """A few untimed sweeps warm the caches, then each timed sweep starts from an empty queue.

        Each sweep must hand on every due timer, and send one message for each item it hands on, of
        whatever job: `reset` frees the claims of the last sweep's items, so none is held back.
        """
        timings = []
        for number in range(3 + self.samples):
            reset(handed)
            handed.clear()
            start = time.perf_counter()
            scheduler.sweep(enqueue)
            elapsed = common.ms(start)
            timers = sum(job == "timers" for job, _ in handed)
            if timers != due:
                raise RuntimeError(f"the sweep handed on {timers} timer jobs for {due} due timers")
            if self.redis is not None and self.queued() != len(handed):
                raise RuntimeError(f"the sweep sent {self.queued()} messages for {len(handed)} items handed on "
                                   f"({timers} timers, {len(handed) - timers} of other jobs)")
            if number >= 3:
                timings.append(elapsed)
        return timings

    def retire(self, instance_ids: list[int]) -> None:
        """Put the sweep's due timers out of the way of the firing run: waiting again, 72 hours ahead."""
        with self.app.app_context():
            future = db.session.scalar(select(Timer.instance_id).where(Timer.fire_at > now()).limit(1))
            self.set_waiting(instance_ids, self.template(future))

    # 2. Firing with two workers

    def firing(self, n_fire: int) -> dict[str, object]:
        with self.app.app_context():
            # Each worker parses the pathway on its first job; a few untimed firings take that out of the rate.
            ids = warm_up = self.waiting_instances(WARM_UP, due=True)
            self.clear_queue(warm_up)
            workers = start_workers(self.uri, self.redis_url or "", self.worker_options)
            try:
                wait_for_workers(len(workers))
                self.fire_all(warm_up)
                start = time.perf_counter()
                ids = self.waiting_instances(n_fire, due=True)  # due at once, but nothing sweeps until fire_all
                say(f"ran {n_fire} instances to their due timer in {time.perf_counter() - start:.1f}s")
                self.clear_queue(ids)
                seconds, enqueued = self.fire_all(ids)
            finally:
                stop_workers(workers)
                self.clear_queue(warm_up + ids)
            return {"fire_workers": " ".join([f"{WORKERS}x--concurrency=1", *self.worker_options]),
                    "fire_instances": n_fire,
                    "timer_jobs_enqueued": enqueued, "fire_seconds": seconds,
                    "timers_fired_per_s": n_fire / seconds if seconds else float("nan"), **self.check(ids)}

    def fire_all(self, ids: list[int], timeout: float = 600) -> tuple[float, int]:
        """Sweep every second until none of the instances' timer rows is left; the seconds from the first
        enqueue, and how many timer job messages were sent in all (a claim key saves resending one in
        flight). Another job's messages (an alert a fired timer's new step raises, say) are not counted."""
        first: list[float] = []
        sent = 0

        def count(sender: str | None = None, body: tuple | None = None, **_kwargs: object) -> None:
            nonlocal sent
            # Celery's message body is (args, kwargs, embed); a job's args are (job name, id).
            sent += sender == "mace.run_job" and body is not None and body[0][0] == "timers"

        def run(job: str, ids: list[int]) -> None:
            if not first:
                first.append(time.perf_counter())
            enqueue(job, ids)

        after_task_publish.connect(count, weak=False)
        try:
            with self.bench_queue() as enqueue:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    scheduler.sweep(run)
                    next_sweep = time.monotonic() + SWEEP_EVERY
                    while time.monotonic() < next_sweep:
                        left = self.timers_left(ids)
                        if left == 0:
                            return time.perf_counter() - first[0], sent
                        time.sleep(POLL_EVERY)
                    say(f"{left} timers left")
        finally:
            after_task_publish.disconnect(count)
        raise RuntimeError(f"{self.timers_left(ids)} timers still waiting after {timeout}s")

    def timers_left(self, ids: list[int]) -> int:
        left = db.session.scalar(select(func.count()).select_from(Timer).where(Timer.instance_id.in_(ids)))
        db.session.rollback()
        return left

    def check(self, ids: list[int]) -> dict[str, int]:
        fires = db.session.execute(
            select(AuditEvent.instance_id, func.count()).where(AuditEvent.action == "timer.fire",
                                                               AuditEvent.instance_id.in_(ids))
            .group_by(AuditEvent.instance_id)).all()
        followups = dict(db.session.execute(
            select(HumanTask.instance_id, func.count()).where(HumanTask.instance_id.in_(ids),
                                                              HumanTask.element_id == FOLLOWUP,
                                                              HumanTask.status == "open")
            .group_by(HumanTask.instance_id)).all())
        incidents = db.session.scalar(select(func.count()).select_from(Incident).where(Incident.instance_id.in_(ids)))
        return {
            "duplicate_firings": sum(count - 1 for _, count in fires),
            "timers_not_fired": len(ids) - len(fires),
            "followup_tasks_missing": sum(1 for i in ids if followups.get(i) != 1),
            "incidents": incidents,
        }


def start_workers(uri: str, redis_url: str, options: list[str]) -> list[subprocess.Popen]:
    """Two Celery workers of one process each, on the bench's queue, each in its own process group."""
    env = {**os.environ, "DATABASE_URL": uri, "REDIS_URL": redis_url, "SECRET_KEY": "bench-only",
           "MACE_SCHEDULER": "off"}
    logs = Path(tempfile.mkdtemp(prefix="mace-bench-workers-"))
    say(f"worker logs in {logs}")
    celery = Path(sys.executable).parent / "celery"
    return [
        subprocess.Popen(
            [str(celery), "-A", "workers.celery_app", "worker", "--concurrency=1", "-Q", QUEUE,
             "-n", f"bench-timers-{number}-{os.getpid()}@%h", "--loglevel=INFO", "--without-gossip",
             "--without-mingle", *options],
            cwd=ROOT, env=env, stdout=(logs / f"worker{number}.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for number in range(1, WORKERS + 1)
    ]


def wait_for_workers(count: int, seconds: float = 60) -> None:
    from workers.celery_app import celery

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        replies = celery.control.ping(timeout=0.5)
        if len([r for r in replies if any(name.startswith("bench-timers-") for name in r)]) >= count:
            return
    raise RuntimeError(f"fewer than {count} workers answered within {seconds}s")


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """Stop each worker's process group (the worker and its pool process): politely, then by force."""
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=100_000, help="waiting timers in the table")
    parser.add_argument("--due", type=int, default=100, help="how many of them are due")
    parser.add_argument("--fire", type=int, default=1_000, help="instances whose due timers the workers fire")
    parser.add_argument("--quick", action="store_true", help="fewer firings and samples; under a minute")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS)
    parser.add_argument("--worker-option", action="append", default=[], metavar="OPTION",
                        help="pass on to each celery worker, e.g. --worker-option=--pool=solo")
    common.add_database_arguments(parser)
    args = parser.parse_args()
    if not 1 <= args.due < args.timers:
        parser.error("--due must be at least 1 and fewer than --timers")
    uri = common.database_uri(args.database_url, "mace-bench-timers-")
    # Everything this process and its workers create (the Celery app makes its own Flask app) uses these.
    os.environ.update({"DATABASE_URL": uri, "MACE_SCHEDULER": "off",
                       "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only"})
    redis_url = args.redis_url if redis_reachable(args.redis_url) else None
    if redis_url:
        os.environ["REDIS_URL"] = redis_url

    try:
        run(uri, redis_url, args)
    finally:
        if not args.database_url:  # the temporary SQLite file holds 100,000 instances: about 500 MB
            shutil.rmtree(Path(uri.removeprefix("sqlite:///")).parent, ignore_errors=True)


def run(uri: str, redis_url: str | None, args: argparse.Namespace) -> None:
    bench = Bench(uri, redis_url, args.quick, args.worker_option)
    bench.setup()
    due_ids = bench.populate(args.timers, args.due)
    results: dict[str, object] = {"database": uri.split(":", 1)[0], **bench.sweep_timings(due_ids)}
    common.print_results(results)
    if redis_url is None:
        say(f"Redis is unreachable at {args.redis_url}: firing with workers is skipped")
        common.print_results({"timers_fired_per_s": "skipped (no Redis)", "duplicate_firings": "skipped (no Redis)"})
        return
    bench.retire(due_ids)
    common.print_results(bench.firing(min(args.fire, 200) if args.quick else args.fire))


if __name__ == "__main__":
    main()
