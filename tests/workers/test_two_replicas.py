"""Two app servers and two Celery workers on one PostgreSQL and Redis, under load with the sweep running.

What a partnership relies on when it runs more than one of each: no step is lost, none is done twice and
none is left stuck. The saved workflow state of every instance is compared with the task, timer and audit
tables the servers and workers kept beside it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import func, select

from processes.engine import bundle as bundles
from processes.engine import runtime, serialization, workflow_sync
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask, ProcessInstance, Timer
from processes.identity import users as identity
from processes.mace import cases
from tests.support.services import Service, compose_web_command, free_port, service_env, wait_for
from tests.support.tasks import open_task

CLIENTS = 6
LOAD_SECONDS = 12
TIMER_CASES = 30
LOOP_ROLES = ["referrer", "hub_practitioner", "allocated_worker", "team_manager"]


@pytest.fixture
def on_postgresql(app) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("replicas share one PostgreSQL database; the embedded SQLite default serves a single server")


@pytest.fixture
def web_servers(on_postgresql, ctx, tmp_path, database_uri, redis_url) -> Iterator[list[str]]:
    """Two web replicas as the compose file runs them, each on a port of its own."""
    servers, bases = [], []
    env = service_env(database_uri, redis_url, SECRET_KEY="two-replicas-test-only")
    for number in (1, 2):
        port = free_port()
        servers.append(Service.start(f"web-{number}", compose_web_command(port), tmp_path / f"web-{number}.log", env))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for server, base in zip(servers, bases, strict=True):
            wait_for(lambda b=base: healthy(b), 60, f"{server.name} to answer /healthz")
        yield [f"{base}/api/v1" for base in bases]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop()


def healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).ok
    except requests.RequestException:
        return False


def walk(apis: list[str], tokens: dict[str, str], case_id: int, stop: threading.Event,
         completed: list[int], errors: list[str]) -> None:
    """One user's case round the loop, each request to the next replica in turn, until stopped."""
    http = requests.Session()
    step, turn = 0, 0
    while not stop.is_set():
        role = LOOP_ROLES[step]
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        api = apis[turn % len(apis)]
        turn += 1
        listed = http.get(f"{api}/tasks", params={"limit": 50}, headers=headers, timeout=30)
        if listed.status_code != 200:
            errors.append(f"list {listed.status_code}")
            continue
        mine = [task for task in listed.json()["tasks"] if task["case_id"] == case_id and task["role"] == role]
        if len(mine) != 1:
            errors.append(f"case {case_id}: {len(mine)} open steps for {role}")
            continue
        data = {"note": "replicas"} | ({"another_cycle": True} if step == 3 else {})
        done = http.post(f"{apis[turn % len(apis)]}/tasks/{mine[0]['id']}/complete", json={"data": data},
                         headers=headers, timeout=30)
        turn += 1
        if done.status_code != 200:
            errors.append(f"complete {done.status_code}")
            continue
        completed.append(mine[0]["id"])
        step = (step + 1) % len(LOOP_ROLES)


def decide_all(apis: list[str], token: str, task_ids: list[int], errors: list[str]) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    for number, task_id in enumerate(task_ids):
        done = http.post(f"{apis[number % len(apis)]}/tasks/{task_id}/complete",
                         json={"data": {"note": "replicas"}}, timeout=30)
        if done.status_code != 200:
            errors.append(f"decide {done.status_code}")
        time.sleep(LOAD_SECONDS / 2 / len(task_ids))


def test_two_replicas_under_load_lose_double_and_strand_no_step(
        web_servers, redis_url, start_celery, deploy, make_actor):
    deploy("loop")
    deploy("quick_followup")
    loopers = {role: make_actor(role) for role in LOOP_ROLES}
    tokens = {role: identity.create_token(actor.username, "replicas") for role, actor in loopers.items()}
    loop_cases = []
    for _ in range(CLIENTS):
        case = cases.create(loopers["referrer"], "north", "Replica Child")
        runtime.start(loopers["referrer"], case.id, "loop")
        loop_cases.append(case.id)
    hub = make_actor("hub_practitioner")
    timer_cases = []
    for _ in range(TIMER_CASES):
        case = cases.create(loopers["referrer"], "north", "Timer Child")
        runtime.start(loopers["referrer"], case.id, "quick_followup")
        timer_cases.append(case.id)
    decisions = [open_task(case_id, "decide").id for case_id in timer_cases]
    db.session.commit()

    celery = start_celery(redis_url)
    workers = [celery.worker(concurrency=1), celery.worker(concurrency=1)]
    beat = celery.beat()

    stop, completed, errors = threading.Event(), [], []
    clients = [threading.Thread(target=walk, args=(web_servers, tokens, case_id, stop, completed, errors))
               for case_id in loop_cases]
    # The hub decides the timer cases through the replicas as the load runs, so their two-second timers
    # fall due throughout it, for either worker to fire.
    hub_token = identity.create_token(hub.username, "replicas")
    db.session.commit()
    clients.append(threading.Thread(target=decide_all, args=(web_servers, hub_token, decisions, errors)))
    for client in clients:
        client.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    for client in clients:
        client.join(timeout=60)

    def timers_fired() -> bool:
        db.session.rollback()
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timer.fire", AuditEvent.case_id.in_(timer_cases))) >= TIMER_CASES

    wait_for(timers_fired, 60, "every timer to fire")
    assert beat.running(), "beat kept sweeping throughout"
    celery.stop_all()
    db.session.rollback()

    assert errors == [], f"{len(errors)} requests failed: {Counter(errors).most_common(5)}"
    assert len(completed) > CLIENTS * len(LOOP_ROLES), "the load should take each case round the loop"
    # Lost or doubled: every completion a user was told of is audited once, and none besides.
    audited = Counter(db.session.scalars(select(AuditEvent.human_task_id).where(
        AuditEvent.action == "task.complete", AuditEvent.case_id.in_(loop_cases))))
    assert audited == Counter(completed)
    done_rows = db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.case_id.in_(loop_cases), HumanTask.status == "completed"))
    assert done_rows == len(completed)
    # Stuck: each saved workflow's open steps and waiting timers are exactly the rows beside it.
    for instance in db.session.scalars(select(ProcessInstance).where(ProcessInstance.status == "running")):
        workflow = serialization.load(instance.state, bundles.for_definition(instance.definition),
                                      instance.process_id)
        rows = set(db.session.scalars(select(HumanTask.spiff_task_id).where(
            HumanTask.instance_id == instance.id, HumanTask.status == "open")))
        assert rows == set(workflow_sync.ready_user_tasks(workflow)), f"instance {instance.id}'s open steps"
        timers = set(db.session.scalars(select(Timer.spiff_task_id).where(Timer.instance_id == instance.id)))
        assert timers == set(workflow_sync.waiting_timers(workflow)), f"instance {instance.id}'s timers"
    open_per_loop_case = Counter(db.session.scalars(select(HumanTask.case_id).where(
        HumanTask.case_id.in_(loop_cases), HumanTask.status == "open")))
    assert open_per_loop_case == Counter(loop_cases), "each loop case has exactly one open step"
    # Timers: each fired once, by one of the two workers, and opened one follow-up; none is left overdue.
    fired = Counter(db.session.scalars(select(AuditEvent.case_id).where(
        AuditEvent.action == "timer.fire", AuditEvent.case_id.in_(timer_cases))))
    assert fired == Counter(timer_cases)
    followups = Counter(db.session.scalars(select(HumanTask.case_id).where(
        HumanTask.case_id.in_(timer_cases), HumanTask.element_id == "followup")))
    assert followups == Counter(timer_cases)
    overdue = [aware(at) for at in db.session.scalars(select(Timer.fire_at))]
    assert [at for at in overdue if (now() - at).total_seconds() > 5] == []
    ran = [worker.output().count("Task mace.run_job[") for worker in workers]
    assert all(ran), f"both workers should have run jobs, not one alone: {ran}"
