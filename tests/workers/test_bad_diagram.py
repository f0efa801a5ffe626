"""One case whose diagram raises SystemExit when its timer fires: an incident, while ten good cases' timers fire
on time, on the embedded scheduler's thread and on real Celery workers alike."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from app import create_app
from processes.engine import runtime
from processes.engine.clock import aware, now
from processes.engine.db import db
from processes.engine.models import HumanTask, Incident, Timer
from processes.mace import cases
from tests.support.factories import bundle
from tests.support.services import Celery, clean_queue, redis_reachable, skip_or_fail, wait_for
from tests.support.tasks import open_task

KEY = "quick_followup"  # decide, a two-second timer, then a follow-up whose due_in is worked out as it opens
BAD_KEY = "bomb_followup"
GOOD_CASES = 10
# This worktree's own Redis database: never the shared default (15).
REDIS_URL = os.environ.get("I13_REDIS_URL", "redis://127.0.0.1:6379/8")


@pytest.fixture
def cases_waiting(make_actor, deploy) -> Callable[[], tuple[int, list[int], float]]:
    """Ten good cases and one bad one, each with its two-second timer running; gives (bad, good, due)."""

    def make() -> tuple[int, list[int], float]:
        deploy(KEY)
        broken = bundle(KEY)
        broken[f"{KEY}.bpmn"] = broken[f"{KEY}.bpmn"].replace(
            """value='"P7D"'""", """value='(i for i in [1]).throw(SystemExit)'""")
        deploy(KEY, key=BAD_KEY, files=broken)
        referrer, hub = make_actor("referrer"), make_actor("hub_practitioner")

        def decided(key: str) -> int:
            case = cases.create(referrer, "north", "Fictional Child")
            runtime.start(referrer, case.id, key)
            runtime.complete_task(hub, open_task(case.id, "decide").id, {"note": "x"})
            return case.id

        bad = decided(BAD_KEY)  # first, so every sweep meets it before the good ones
        good = [decided(KEY) for _ in range(GOOD_CASES)]
        due = max(aware(t).timestamp() for t in db.session.scalars(select(Timer.fire_at)))
        db.session.commit()
        return bad, good, due

    return make


def fired(good: list[int]) -> int:
    db.session.rollback()  # read what the scheduler committed
    return db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.case_id.in_(good), HumanTask.element_id == "followup"))


def incidents_of(case_id: int) -> list[Incident]:
    db.session.rollback()
    return list(db.session.scalars(select(Incident).where(Incident.case_id == case_id)))


def assert_outcome(bad: int, good: list[int]) -> None:
    [incident] = incidents_of(bad)
    assert (incident.status, incident.element_id) == ("open", "followup")
    assert "SystemExit" in incident.error
    assert fired(good) == GOOD_CASES


def test_the_embedded_thread_records_the_bad_case_and_fires_the_good_ones_on_time(database_uri, cases_waiting):
    bad, good, due = cases_waiting()
    embedded = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "SCHEDULER": "embedded", "SWEEP_SECONDS": 1})
    scheduler_thread = embedded.extensions["mace_scheduler"]
    try:
        wait_for(lambda: fired(good) == GOOD_CASES and incidents_of(bad), 20, "ten timers and one incident")
        fired_at = now().timestamp()
        assert fired_at - due < 1 + 3, "a timer is acted on within SWEEP_SECONDS (and a little) of falling due"
        assert scheduler_thread._thread.is_alive(), "the scheduler's thread survived the bad diagram"
    finally:
        scheduler_thread.stop()
    assert_outcome(bad, good)


@pytest.fixture
def celery_on_db8(ctx, tmp_path, database_uri) -> Iterator[Celery]:
    if not redis_reachable(REDIS_URL):
        skip_or_fail("Redis is not reachable at 127.0.0.1:6379; start redis-server")
    clean_queue(REDIS_URL)
    celery = Celery(tmp_path, database_uri, REDIS_URL)
    yield celery
    celery.stop_all()
    clean_queue(REDIS_URL)


def test_real_celery_workers_record_the_bad_case_and_fire_the_good_ones_on_time(cases_waiting, celery_on_db8):
    bad, good, due = cases_waiting()
    worker = celery_on_db8.worker()
    celery_on_db8.beat(wait=False)
    try:
        wait_for(lambda: fired(good) == GOOD_CASES and incidents_of(bad), 30, "ten timers and one incident")
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{worker.output()[-3000:]}", pytrace=False)
    late = time.time() - due
    assert late < 10, f"the good cases' timers fired {late:.1f} s after falling due"
    assert_outcome(bad, good)
    # The worker that met SystemExit is still there and still working.
    assert worker.running(), worker.output()[-3000:]
