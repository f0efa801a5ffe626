"""Changes made on many threads of one process at once (a threaded server's workers) share the connection
pool safely: every one of them commits, none fails on a connection another thread holds."""

import threading

from sqlalchemy import func, select

from processes.engine import runtime
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.mace import cases
from tests.support.tasks import open_task

THREADS = 8
CASES_EACH = 6


def test_changes_on_many_threads_all_commit(app, make_actor, deploy):
    deploy("screening")
    referrer = make_actor("referrer")
    case_ids = []
    for _ in range(THREADS * CASES_EACH):
        case = cases.create(referrer, "north", "Thread Child")
        runtime.start(referrer, case.id, "screening")
        case_ids.append(case.id)
    db.session.commit()
    barrier, failures = threading.Barrier(THREADS), []

    def work(own: list[int]) -> None:
        with app.app_context():
            barrier.wait()
            try:
                for case_id in own:
                    task_id = open_task(case_id, "screen").id
                    runtime.complete_task(referrer, task_id, {"exploitation_types": ["criminal"], "concern": "t"})
            except Exception as exc:
                failures.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(case_ids[n::THREADS],)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.case_id.in_(case_ids), HumanTask.element_id == "hub_decision", HumanTask.status == "open",
    )) == len(case_ids)
