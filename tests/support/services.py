"""Real background services for tests and bench scripts: Celery worker and beat, a private Redis, an SMTP sink.

Each service is the real program in a process of its own (the SMTP sink is a real aiosmtpd server on a
thread), started in a new session so that stopping or killing it reaches every process it forked.
Nothing here imports the application: a bench script can use it against any database and Redis.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
import yaml
from aiosmtpd.controller import Controller
from redis import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parents[2]
# The celery script next to the running interpreter: the virtualenv's, wherever it lives.
CELERY = str(Path(sys.executable).with_name("celery"))
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
# Settings a developer's shell may hold that must not leak into a worker started for a test.
_OWN_SETTINGS = ("DATABASE_URL", "REDIS_URL", "MACE_SCHEDULER", "SWEEP_SECONDS", "JOB_VISIBILITY_SECONDS",
                 "REMINDER_WORKING_DAYS", "ESCALATION_WORKING_DAYS", "SMTP_HOST", "SMTP_PORT", "SMTP_FROM",
                 "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS", "BASE_URL")
# Runs celery with the clock moved `offset` seconds on (time_machine, ticking). Forked pool processes
# inherit the patched clock, so a worker can see the day a reminder falls due without the test waiting
# for it; a beat started with the same offset stamps its sweeps' expiry times on the same clock.
_SHIFTED_CELERY = """\
import sys, time
import time_machine
offset = float(sys.argv.pop(1))
time_machine.travel(time.time() + offset, tick=True).start()
time.time()  # a ticking clock starts at its first reading: start it now, not at celery's first
sys.argv[0] = "celery"
from celery.__main__ import main
main()
"""

T = TypeVar("T")


def services_required() -> bool:
    """In CI (and the PostgreSQL pass) a missing service is a failure, never a skip."""
    return bool(os.environ.get("CI") or os.environ.get("MACE_REQUIRE_SERVICES"))


def skip_or_fail(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (services are required in CI)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(database_uri: str, redis_url: str, **settings: str | int) -> dict[str, str]:
    """The environment of a program started for a test: this one's, without the developer's own settings,
    on the test's database and Redis, the in-process scheduler off (a beat sweeps)."""
    env = {name: value for name, value in os.environ.items() if name not in _OWN_SETTINGS}
    env.update(DATABASE_URL=database_uri, REDIS_URL=redis_url, MACE_SCHEDULER="off", PYTHONUNBUFFERED="1")
    env.update({name: str(value) for name, value in settings.items()})
    return env


def compose_web_command(port: int) -> list[str]:
    """The compose file's web command as deployed (its `${VAR:-default}`s filled from the environment), run
    by this interpreter and bound to `port` on loopback."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    filled = [re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m[1], m[2]), word) for word in words]
    filled[filled.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", *filled]


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll until `condition()` is truthy and return it; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g}s")
        time.sleep(interval)


def redis_reachable(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (RedisError, OSError):
        return False


def redis_client(url: str) -> Redis:
    """A client for a short check; use it in `with`, which closes it."""
    return Redis.from_url(url, socket_connect_timeout=2)


def clean_queue(url: str) -> None:
    """Remove every message, unacknowledged delivery and dedupe claim the workers left in this Redis
    database, so the next test starts from an empty queue."""
    with redis_client(url) as client:
        keys = [*client.scan_iter("celery*"), *client.scan_iter("unacked*"), *client.scan_iter("_kombu.binding*"),
                *client.scan_iter("mace:queued:*")]
        if keys:
            client.delete(*keys)


def unacked_count(url: str) -> int:
    """Deliveries taken by a worker and not yet acknowledged (kept by kombu until the job is done)."""
    with redis_client(url) as client:
        return int(client.hlen("unacked"))


def queued_count(url: str) -> int:
    with redis_client(url) as client:
        return int(client.llen("celery"))


@dataclass
class Service:
    """One started program, the leader of its own process group, logging to a file."""

    name: str
    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, name: str, args: list[str], log: Path, env: dict[str, str] | None = None,
              cwd: Path = ROOT) -> Service:
        with log.open("ab") as out:
            process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        return cls(name, process, log)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_for_output(self, marker: str, timeout: float = 30) -> None:
        def seen() -> bool:
            if not self.running():
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            return marker in self.output()

        try:
            wait_for(seen, timeout, f"{self.name} to log {marker!r}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.output()[-3000:]}") from None

    def _signal_group(self, sig: signal.Signals) -> bool:
        try:
            os.killpg(self.process.pid, sig)
            return True
        except ProcessLookupError:
            return False

    def _group_gone(self) -> bool:
        """No live process is left in the group. Zombies count as gone: they run nothing, and only
        whoever adopted them (init, in a container perhaps nothing) can reap them."""
        proc = Path("/proc")
        if not proc.is_dir():
            return not self._signal_group(0)
        for stat in proc.glob("[0-9]*/stat"):
            with suppress(OSError, ValueError, IndexError):
                # Fields after the parenthesised command: state, ppid, pgrp, ...
                state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
                if int(pgrp) == self.process.pid and state != "Z":
                    return False
        return True

    def kill(self) -> None:
        """SIGKILL the whole process group at once: the main process and every child it forked."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)
        # Killed children are reaped by init, not by us; wait until none is left.
        wait_for(self._group_gone, 10, f"every process of {self.name} to end")

    def terminate(self) -> None:
        """Ask for a clean stop: on SIGTERM Celery finishes its running jobs, Redis shuts down."""
        if self.running():
            self._signal_group(signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """Stop cleanly, waiting up to `timeout` seconds, then make sure nothing of it is left."""
        self.terminate()
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        self.kill()  # anything still there, or a straggling child, goes now


class Celery:
    """Celery workers and beats for one database and one Redis, all stopped by `stop_all`."""

    def __init__(self, workdir: Path, database_uri: str, redis_url: str, **settings: str | int) -> None:
        self.workdir, self.redis_url = workdir, redis_url
        self.env = service_env(database_uri, redis_url, SWEEP_SECONDS="1", JOB_VISIBILITY_SECONDS="10", **settings)
        self.started: list[Service] = []

    def _start(self, program: str, args: list[str], clock_offset: float) -> Service:
        name = f"{program}-{len(self.started) + 1}"
        shifted = [sys.executable, "-c", _SHIFTED_CELERY, repr(float(clock_offset))]
        command = [*(shifted if clock_offset else [CELERY]), "-A", "workers.celery_app", program, *args,
                   "--loglevel", "INFO"]
        service = Service.start(name, command, self.workdir / f"{name}.log", self.env)
        self.started.append(service)
        return service

    def worker(self, concurrency: int = 2, clock_offset: float = 0.0, wait: bool = True) -> Service:
        """A prefork worker, as deployed; returns once it is consuming (unless wait=False)."""
        service = self._start("worker", [
            "--pool", "prefork", "--concurrency", str(concurrency), "--hostname", f"test{len(self.started)}@%h",
            # No other workers to sync with or watch: start faster and log less.
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ], clock_offset)
        if wait:
            service.wait_for_output(" ready.")
        return service

    def beat(self, clock_offset: float = 0.0, wait: bool = True) -> Service:
        """Beat with its own schedule file, so no earlier run's last-run times carry over."""
        schedule = self.workdir / f"beat-schedule-{len(self.started) + 1}"
        service = self._start("beat", ["--schedule", str(schedule)], clock_offset)
        if wait:
            service.wait_for_output("beat: Starting...")
        return service

    def stop_all(self) -> None:
        """Stop every worker and beat started here, all at once; returns when none is left."""
        for service in self.started:
            service.terminate()
        for service in self.started:
            service.stop()


_SWEEP_DONE = re.compile(r"Task mace\.sweep\[[^\]]+\] succeeded")


def sweeps_done(worker: Service) -> int:
    """How many sweeps this worker has finished, from its log."""
    return len(_SWEEP_DONE.findall(worker.output()))


def wait_for_sweeps(worker: Service, count: int, timeout: float = 30) -> None:
    """Wait until the worker finishes `count` more sweeps than it had so far."""
    target = sweeps_done(worker) + count
    wait_for(lambda: sweeps_done(worker) >= target, timeout, f"{count} more sweep(s) on {worker.name}")


@dataclass
class PrivateRedis:
    """A redis-server of our own on a free port, without persistence, that a test may stop and restart."""

    workdir: Path
    port: int = field(default_factory=free_port)
    service: Service | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server") or next(
            (path for path in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if Path(path).exists()), None)

    def start(self) -> None:
        binary = self.binary()
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.service = Service.start("redis", [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                               "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                     self.workdir / "redis.log")
        wait_for(lambda: redis_reachable(self.url), 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None


class Mailbox:
    """What a real SMTP server received: (envelope recipients, raw message) per message."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", errors="replace")))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free loopback port, for workers in other processes to send to."""
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
