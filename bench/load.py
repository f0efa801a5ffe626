"""Load benchmark: concurrent clients walking their own cases through the four-step loop over HTTP, for a fixed time.

Usage: python bench/load.py [--clients N] [--seconds S] [--quick] [--database-url URL] [--server gunicorn|make-run]
Prints one name=value per line: completions_per_s, complete_p50_ms/p95/p99, errors (any answer but 200, or
no answer), the server's CPU per completion under load (its list request included), and, measured first on the
same server by one client submitting steps whose ids it already knows, the server's CPU per submit alone.
With a PostgreSQL URL the server is gunicorn as the compose file's web service runs it; without one it is a
fresh SQLite file served as `make run` serves it (the Flask server with the embedded scheduler). A database it
is given is emptied first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (
    add_database_arguments,
    app_for,
    database_uri,
    free_port,
    fresh_database,
    ms,
    percentile,
    print_results,
    wait_for,
)
from processes.engine import bundle_files, repository, runtime, tasks
from processes.identity import users as identity
from processes.mace import cases
from tests.support.services import compose_web_command

LOOP = ROOT / "tests" / "bundles" / "loop"
KEY = "bench-loop"
STEP_ROLES = ["referrer", "hub_practitioner", "allocated_worker", "team_manager"]
WARM_UP_SECONDS = 3
SUBMIT_AREA = "load-submit"


def step_data(step: int) -> dict:
    return {"note": "load"} | ({"another_cycle": True} if step == 4 else {})


def make_run_argv(port: int) -> list[str]:
    """What `make run` serves: the Flask server, its scheduler embedded (see the Makefile)."""
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1", "--port", str(port)]


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and every process below it (gunicorn's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree, grew = {pid}, True
    while grew:
        below = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return sum(used.get(member, 0.0) for member in tree)


@dataclass
class Client:
    """One user's browser, as it were: a token per role of its own area, and its own case."""

    base: str
    tokens: dict[str, str]
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    completions: int = 0

    def run(self, stop: threading.Event, counting: threading.Event) -> None:
        sessions = {role: requests.Session() for role in STEP_ROLES}
        for role, session in sessions.items():
            session.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        number = 1
        while not stop.is_set():
            # A failed step changed nothing (or should not have): the same step is tried again.
            if self.step(sessions[STEP_ROLES[number - 1]], number, counting.is_set()):
                number = number % len(STEP_ROLES) + 1

    def step(self, session: requests.Session, number: int, counted: bool) -> bool:
        """List the role's tasks, then complete the one open step of this client's case; True if done."""
        role = STEP_ROLES[number - 1]
        try:
            listed = session.get(f"{self.base}/tasks", params={"limit": 5}, timeout=30)
            if listed.status_code != 200:
                self.errors[f"list {listed.status_code}"] += counted
                return False
            own = [task for task in listed.json()["tasks"] if task["role"] == role]
            if len(own) != 1:
                self.errors[f"{len(own)} open steps for {role}"] += counted
                return False
            start = time.perf_counter()
            done = session.post(f"{self.base}/tasks/{own[0]['id']}/complete", json={"data": step_data(number)},
                                timeout=30)
            elapsed = ms(start)
        except (requests.RequestException, ValueError) as exc:
            self.errors[type(exc).__name__] += counted
            return False
        if done.status_code != 200:
            self.errors[f"complete {done.status_code}"] += counted
            return False
        if counted:
            self.completions += 1
            self.latencies.append(elapsed)
        return True


def submit_cpu(pid: int, base: str, token: str, task_ids: list[int]) -> dict[str, object]:
    """One client completes steps it already knows, one after another: the server's CPU per submit, no list.

    The first hundred (at most half) warm every one of the server's workers (imports, parsed diagrams, statement
    caches, connections) and do not count: a worker's first steps cost several times its later ones, and with
    four workers a tenth of 200 left each barely warm, which made the figure a third too high."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    warm = min(len(task_ids) // 2, 100)
    errors = 0
    for number, task_id in enumerate(task_ids):
        if number == warm:
            before = cpu_seconds(pid)
        response = http.post(f"{base}/tasks/{task_id}/complete", json={"data": step_data(1)}, timeout=30)
        errors += response.status_code != 200
    counted = len(task_ids) - warm
    return {"submits_alone": counted, "submit_alone_errors": errors,
            "server_cpu_ms_per_submit": (cpu_seconds(pid) - before) * 1000 / counted}


class Bench:
    def __init__(self, uri: str, clients: int):
        self.uri, self.n_clients = uri, clients
        self.app = app_for(uri)

    def setup(self, submits: int) -> tuple[list[dict[str, str]], str, list[int]]:
        """An area per client, a user and token per role in it, and one started case each; and, in an area of
        their own, `submits` cases at their first step, for the submit-only figure, with the token and task ids."""
        tokens = []
        with self.app.app_context():
            fresh_database()
            repository.deploy(None, KEY, bundle_files.read_folder(LOOP))
            identity.create_area(SUBMIT_AREA, SUBMIT_AREA)
            identity.create_user("load-submitter", "Load user", [STEP_ROLES[0]], [SUBMIT_AREA])
            submitter = identity.actor_for_token(submit_token := identity.create_token("load-submitter", "load"))
            for _ in range(submits):
                runtime.start(submitter, cases.create(submitter, SUBMIT_AREA, "Load child").id, KEY)
            submit_tasks = [task.id for task in tasks.inbox(submitter, limit=submits).tasks]
            for number in range(self.n_clients):
                area = f"load-{number}"
                identity.create_area(area, area)
                own = {}
                for role in STEP_ROLES:
                    username = f"load-{role}-{number}"
                    identity.create_user(username, "Load user", [role], [area])
                    own[role] = identity.create_token(username, "load")
                actor = identity.actor_for_token(own["referrer"])
                case = cases.create(actor, area, "Load child")
                runtime.start(actor, case.id, KEY)
                tokens.append(own)
        return tokens, submit_token, submit_tasks

    def run(self, server: str, seconds: float, submits: int) -> dict[str, object]:
        tokens, submit_token, submit_tasks = self.setup(submits)
        port = free_port()
        argv = compose_web_command(port) if server == "gunicorn" else make_run_argv(port)
        logs = tempfile.NamedTemporaryFile(prefix="mace-bench-load-", suffix=".log", delete=False)  # noqa: SIM115
        env = {**os.environ, "DATABASE_URL": self.uri, "SECRET_KEY": "bench-only",
               "MACE_SCHEDULER": "embedded" if server == "make-run" else "off"}
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz")
            alone = submit_cpu(process.pid, f"http://127.0.0.1:{port}/api/v1", submit_token, submit_tasks)
            return alone | self.drive(process.pid, f"http://127.0.0.1:{port}/api/v1", tokens, seconds) | {
                "server": " ".join(argv[2:]) if server == "gunicorn" else "make run (flask run, embedded scheduler)",
                "server_log": logs.name,
            }
        finally:
            process.terminate()
            process.wait(timeout=30)

    def drive(self, pid: int, base: str, tokens: list[dict[str, str]], seconds: float) -> dict[str, object]:
        """Every client runs throughout; only what happens after the warm-up counts."""
        stop, counting = threading.Event(), threading.Event()
        clients = [Client(base, own) for own in tokens]
        threads = [threading.Thread(target=client.run, args=(stop, counting), daemon=True) for client in clients]
        for thread in threads:
            thread.start()
        time.sleep(WARM_UP_SECONDS)
        cpu_before, own_before, start = cpu_seconds(pid), time.process_time(), time.perf_counter()
        counting.set()
        time.sleep(seconds)
        counting.clear()
        elapsed, cpu = time.perf_counter() - start, cpu_seconds(pid) - cpu_before
        own = time.process_time() - own_before
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        latencies = [value for client in clients for value in client.latencies]
        completions = sum(client.completions for client in clients)
        errors = sum((client.errors for client in clients), Counter())
        return {
            "clients": self.n_clients,
            "seconds": round(elapsed, 1),
            "completions": completions,
            "completions_per_s": completions / elapsed,
            "complete_p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "complete_p95_ms": percentile(latencies, 95) if latencies else float("nan"),
            "complete_p99_ms": percentile(latencies, 99) if latencies else float("nan"),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors) or "none",
            # Each completion is one list of the role's tasks and one submit: both count.
            "server_cpu_ms_per_completion": cpu * 1000 / completions if completions else float("nan"),
            # The clients share the server's cores: what they take is not the server's to use.
            "client_cpu_ms_per_completion": own * 1000 / completions if completions else float("nan"),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--quick", action="store_true", help="20 seconds instead of 60")
    parser.add_argument("--server", choices=["gunicorn", "make-run"],
                        help="default: gunicorn on PostgreSQL, make-run on SQLite")
    add_database_arguments(parser)
    args = parser.parse_args()
    uri = database_uri(args.database_url, "mace-bench-load-")
    server = args.server or ("gunicorn" if uri.startswith("postgresql") else "make-run")
    results = Bench(uri, args.clients).run(server, 20 if args.quick else args.seconds, 200 if args.quick else 600)
    print_results({"database": uri.split(":", 1)[0], **results})


if __name__ == "__main__":
    main()
