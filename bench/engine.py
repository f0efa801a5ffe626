"""Engine benchmark: service-layer step cost against bare SpiffWorkflow, inbox latency, flat cost over cycles, API.

Usage: python bench/engine.py [--cases N] [--quick] [--database-url URL]
Prints one name=value per line. With no DATABASE_URL it uses a fresh SQLite file in a temporary folder;
a database it is given is emptied first (on PostgreSQL its public schema is dropped and recreated).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.common import (
    add_database_arguments,
    analyze,
    app_for,
    database_uri,
    free_port,
    fresh_database,
    ms,
    percentile,
    print_results,
    wait_for,
)
from processes.engine import bundle as bundles
from processes.engine import bundle_files, repository, runtime, serialization, tasks
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessInstance
from processes.identity import users as identity
from processes.mace import cases
from processes.mace.models import Case

LOOP = ROOT / "tests" / "bundles" / "loop"
KEY = "bench-loop"
# The same four steps drawn as modellers draw a loop, with a sequence flow back to the first step.
LOOP_BACK = ROOT / "tests" / "bundles" / "loop_back"
BACK_KEY = "bench-loop-back"
AREAS = ["bench-a", "bench-b", "bench-c", "bench-d"]
STEP_ROLES = ["referrer", "hub_practitioner", "allocated_worker", "team_manager"]
WARM_UP = 10


def stage_of(case_number: int) -> int:
    """Cases go round the areas one by one and the stages four at a time, so every area has every stage."""
    return (case_number // len(AREAS)) % len(STEP_ROLES)


def step_data(step: int, another: bool = True) -> dict:
    return {"note": "bench"} | ({"another_cycle": another} if step == 4 else {})


class Bench:
    def __init__(self, uri: str, n_cases: int, quick: bool):
        self.uri, self.n_cases, self.quick = uri, n_cases, quick
        self.app = app_for(uri)
        self.samples = 60 if quick else 300

    def setup(self) -> None:
        with self.app.app_context():
            fresh_database()
            for code in AREAS:
                identity.create_area(code, code)
            self.actors: dict[tuple[str, str], Actor] = {}
            for area in AREAS:
                for role in STEP_ROLES:
                    username = f"bench-{role}-{area}-{os.getpid()}-{time.time_ns()}"
                    identity.create_user(username, "Bench user", [role], [area])
                    self.actors[(role, area)] = Actor.of(identity.get_user(username))
            repository.deploy(None, KEY, bundle_files.read_folder(LOOP))
            repository.deploy(None, BACK_KEY, bundle_files.read_folder(LOOP_BACK))

    def populate(self) -> None:
        """N cases spread over the four stages, each a clone of real engine state at that stage."""
        with self.app.app_context():
            referrer = self.actors[("referrer", AREAS[0])]
            templates = []
            template_case = cases.create(referrer, AREAS[0], "Template")
            instance = runtime.start(referrer, template_case.id, KEY)
            for step in range(1, 5):
                inst = db.session.get(ProcessInstance, instance.id)
                [task] = db.session.scalars(select(HumanTask).where(
                    HumanTask.instance_id == inst.id, HumanTask.status == "open")).all()
                templates.append((inst.state, task.spiff_task_id, task.element_id, task.name, task.form))
                if step < 4:
                    runtime.complete_task(self.actors[(STEP_ROLES[step - 1], AREAS[0])], task.id, step_data(step))
            definition = repository.require_latest(KEY)
            at, batch = now(), 2000
            for start in range(0, self.n_cases, batch):
                count = min(batch, self.n_cases - start)
                case_rows = [{"area_code": AREAS[(start + i) % 4], "child_name": "Bench child", "created_at": at}
                             for i in range(count)]
                case_ids = list(db.session.scalars(insert(Case).returning(Case.id), case_rows))
                inst_rows = []
                for i, case_id in enumerate(case_ids):
                    state = templates[stage_of(start + i)][0]
                    inst_rows.append({"case_id": case_id, "definition_id": definition.id, "process_id": "loop",
                                      "status": "running", "state": state, "version": 1, "started_at": at})
                inst_ids = list(db.session.scalars(insert(ProcessInstance).returning(ProcessInstance.id), inst_rows))
                task_rows = []
                for i, (case_id, inst_id) in enumerate(zip(case_ids, inst_ids, strict=True)):
                    stage = stage_of(start + i)
                    _, spiff_id, element, name, form = templates[stage]
                    task_rows.append({
                        "instance_id": inst_id, "case_id": case_id, "area_code": AREAS[(start + i) % 4],
                        "spiff_task_id": spiff_id, "element_id": element, "process_id": "loop", "name": name,
                        "role": STEP_ROLES[stage], "form": form, "status": "open", "created_at": at,
                        "due_at": at + timedelta(days=((start + i) % 40) - 10),
                    })
                db.session.execute(insert(HumanTask), task_rows)
                db.session.commit()
            analyze()

    def open_tasks(self, role: str, area: str, limit: int) -> list[int]:
        return list(db.session.scalars(select(HumanTask.id).where(
            HumanTask.status == "open", HumanTask.role == role, HumanTask.area_code == area,
        ).order_by(HumanTask.id).limit(limit)))

    def step_timings(self) -> tuple[list[float], list[float]]:
        """The same first step through the service layer (committed) and in bare SpiffWorkflow, interleaved.

        Taking the two in turns exposes both to the same moment-to-moment noise of a shared machine, so
        their ratio is steady; a few untimed steps first warm the caches (parsed specs, compiled SQL).
        """
        raw_step = self.raw_spiff_step()
        service, raw = [], []
        with self.app.app_context():
            queue = [(self.actors[("referrer", area)], task_id) for area in AREAS
                     for task_id in self.open_tasks("referrer", area, self.samples // len(AREAS) + 3)]
            for actor, task_id in queue[:WARM_UP]:
                runtime.complete_task(actor, task_id, step_data(1))
                raw_step()
            for actor, task_id in queue[WARM_UP:WARM_UP + self.samples]:
                raw.append(raw_step())
                start = time.perf_counter()
                runtime.complete_task(actor, task_id, step_data(1))
                service.append(ms(start))
        return service, raw

    def raw_spiff_step(self) -> Callable[[], float]:
        """A timer of the same step in bare SpiffWorkflow, in memory, with its stock serializer."""
        parsed = bundles.build(bundle_files.read_folder(LOOP), KEY)
        serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        workflow = serialization.new_workflow(parsed, "loop")
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)

        def step() -> float:
            start = time.perf_counter()
            workflow = serializer.deserialize_json(state)
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(step_data(1))
            task.run()
            workflow.do_engine_steps()
            serializer.serialize_json(workflow)
            return ms(start)

        return step

    def inbox_timings(self) -> list[float]:
        with self.app.app_context():
            actor = self.actors[("hub_practitioner", AREAS[1])]
            timings = []
            for _ in range(self.samples):
                start = time.perf_counter()
                tasks.inbox(actor, limit=50)
                timings.append(ms(start))
                db.session.rollback()
        return timings

    def cycle_ratio(self, key: str) -> float:
        """Median step time in a case's 40th cycle against its first, through the service layer, for the loop
        of pathway `key` (ended by continue_as_new, or drawn with a back edge).

        Cases are first run on, untimed, to their 40th cycle; then their steps are timed in turns with
        the steps of new cases, so that both see the same machine.
        """
        area, cases_each = AREAS[2], 3 if self.quick else 10
        with self.app.app_context():
            referrer = self.actors[("referrer", area)]

            def new_case() -> int:
                case = cases.create(referrer, area, "Cycle child")
                runtime.start(referrer, case.id, key)
                return case.id

            def step(case_id: int, number: int) -> float:
                [task_id] = db.session.scalars(select(HumanTask.id).where(
                    HumanTask.case_id == case_id, HumanTask.status == "open")).all()
                start = time.perf_counter()
                runtime.complete_task(self.actors[(STEP_ROLES[number - 1], area)], task_id, step_data(number))
                return ms(start)

            old = [new_case() for _ in range(cases_each)]
            for case_id in old:
                for _ in range(39):
                    for number in range(1, 5):
                        step(case_id, number)
            cycle_1, cycle_40 = [], []
            for young, aged in zip([new_case() for _ in range(cases_each)], old, strict=True):
                for number in range(1, 5):
                    cycle_1.append(step(young, number))
                    cycle_40.append(step(aged, number))
        return statistics.median(cycle_40) / statistics.median(cycle_1)

    def api_timings(self) -> tuple[float, float]:
        """Start a case's pathway and complete a task over HTTP against gunicorn on loopback."""
        with self.app.app_context():
            area = AREAS[3]
            actor = self.actors[("referrer", area)]
            token = identity.create_token(actor.username, "bench")
            count = 40 if self.quick else 200
            case_ids = [cases.create(actor, area, "Api child").id for _ in range(count)]
        port = free_port()
        env = {**os.environ, "DATABASE_URL": self.uri, "SECRET_KEY": "bench-only"}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "app:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            wait_for(f"http://127.0.0.1:{port}/healthz")
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token}"
            starts, completes, instance_ids = [], [], []
            for case_id in case_ids:
                start = time.perf_counter()
                response = http.post(f"{base}/cases/{case_id}/instances", json={"key": KEY})
                starts.append(ms(start))
                response.raise_for_status()
                instance_ids.append(response.json()["id"])
            for instance_id in instance_ids:
                [task] = http.get(f"{base}/instances/{instance_id}").json()["open_tasks"]
                start = time.perf_counter()
                response = http.post(f"{base}/tasks/{task['id']}/complete", json={"data": step_data(1)})
                completes.append(ms(start))
                response.raise_for_status()
            return statistics.median(starts), statistics.median(completes)
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="fewer cases and samples; under a minute")
    add_database_arguments(parser)
    args = parser.parse_args()
    n_cases = min(args.cases, 2_000) if args.quick else args.cases
    uri = database_uri(args.database_url, "mace-bench-")

    bench = Bench(uri, n_cases, args.quick)
    bench.setup()
    bench.populate()
    complete, raw_steps = bench.step_timings()
    raw = statistics.median(raw_steps)
    inbox = bench.inbox_timings()
    ratio = bench.cycle_ratio(KEY)
    back_edge_ratio = bench.cycle_ratio(BACK_KEY)
    api_start, api_complete = bench.api_timings()
    results = {
        "database": uri.split(":", 1)[0],
        "cases": n_cases,
        "complete_task_p50_ms": statistics.median(complete),
        "complete_task_p95_ms": percentile(complete, 95),
        "raw_spiff_step_ms": raw,
        "overhead_ratio": statistics.median(complete) / raw,
        "inbox_query_p95_ms": percentile(inbox, 95),
        "step_ratio_cycle40_vs_cycle1": ratio,
        "back_edge_ratio_cycle40_vs_cycle1": back_edge_ratio,
        "api_start_p50_ms": api_start,
        "api_complete_p50_ms": api_complete,
    }
    print_results(results)


if __name__ == "__main__":
    main()
