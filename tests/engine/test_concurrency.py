"""Two users acting on the same task at once, on real concurrent connections: exactly one wins."""

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from processes.engine import audit, runtime, tasks, write_queue
from processes.engine.db import db
from processes.engine.errors import Conflict
from processes.engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.engine.transaction import atomic
from processes.mace import cases
from tests.support.tasks import open_task, snapshot

ROUNDS = 5


def race(app, actions):
    """Run each action in its own thread, app context and database connection, released together."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        with app.app_context():
            barrier.wait()
            try:
                action()
                outcomes[index] = "ok"
            except Conflict:
                outcomes[index] = "conflict"
            except Exception as exc:
                outcomes[index] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.fixture
def case_at_screen(make_actor, deploy):
    deploy("screening")
    referrers = [make_actor("referrer"), make_actor("referrer")]

    def new_case():
        case = cases.create(referrers[0], "north", "Race Child")
        runtime.start(referrers[0], case.id, "screening")
        db.session.commit()
        return case.id

    return referrers, new_case


def test_simultaneous_completions_one_succeeds_one_conflicts(app, case_at_screen):
    referrers, new_case = case_at_screen
    for _ in range(ROUNDS):
        case_id = new_case()
        task_id = open_task(case_id, "screen").id
        data = {"exploitation_types": ["criminal"], "concern": "race"}
        outcomes = race(app, [lambda a=a, t=task_id, d=data: runtime.complete_task(a, t, d) for a in referrers])
        assert outcomes == ["conflict", "ok"]
        db.session.rollback()  # end this thread's read snapshot to see what the racers committed
        # The pathway moved on exactly once: one hub decision, one completion audited.
        assert [t.element_id for t in db.session.scalars(
            select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.status == "open"))] == ["hub_decision"]
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.action == "task.complete")) == 1
        instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case_id))
        assert instance.version == 2


def test_simultaneous_claims_one_succeeds(app, case_at_screen):
    referrers, new_case = case_at_screen
    for _ in range(ROUNDS):
        task_id = open_task(new_case(), "screen").id
        outcomes = race(app, [lambda a=a, t=task_id: tasks.claim(a, t) for a in referrers])
        assert outcomes == ["conflict", "ok"]
        db.session.rollback()  # end this thread's read snapshot to see what the racers committed
        assert db.session.get(HumanTask, task_id).assignee_id in {a.id for a in referrers}


def test_changes_to_different_cases_do_not_conflict(app, case_at_screen):
    referrers, new_case = case_at_screen
    task_ids = [open_task(new_case(), "screen").id for _ in range(4)]
    data = {"exploitation_types": ["online"], "concern": "parallel"}
    outcomes = race(app, [lambda t=t: runtime.complete_task(referrers[0], t, data) for t in task_ids])
    assert outcomes == ["ok"] * 4


def test_cancel_racing_a_completion_leaves_a_consistent_case(app, case_at_screen, make_actor):
    referrers, new_case = case_at_screen
    manager = make_actor("team_manager")
    data = {"exploitation_types": ["criminal"], "concern": "race"}
    for _ in range(ROUNDS):
        case_id = new_case()
        task_id = open_task(case_id, "screen").id
        instance_id = db.session.get(HumanTask, task_id).instance_id
        outcomes = race(app, [lambda t=task_id: runtime.complete_task(referrers[0], t, data),
                              lambda i=instance_id: runtime.cancel(manager, i, "duplicate referral")])
        assert outcomes in (["ok", "ok"], ["conflict", "ok"]), outcomes
        db.session.rollback()  # end this thread's read snapshot to see what the racers committed
        assert db.session.get(ProcessInstance, instance_id).status == "cancelled"
        assert db.session.scalars(select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.status == "open")).all() == []


def test_claim_racing_a_completion_never_loses_either(app, case_at_screen):
    referrers, new_case = case_at_screen
    data = {"exploitation_types": ["online"], "concern": "race"}
    for _ in range(ROUNDS):
        task_id = open_task(new_case(), "screen").id
        outcomes = race(app, [lambda t=task_id: tasks.claim(referrers[0], t),
                              lambda t=task_id: runtime.complete_task(referrers[1], t, data)])
        db.session.rollback()  # end this thread's read snapshot to see what the racers committed
        task = db.session.get(HumanTask, task_id)
        if task.status == "completed":
            # Completed first (the claim then conflicts), or claimed first (the completion then conflicts).
            assert outcomes == ["conflict", "ok"] and task.completed_by_id == referrers[1].id
        else:
            assert outcomes == ["conflict", "ok"] and task.assignee_id == referrers[0].id


def test_a_write_based_on_a_stale_read_is_a_conflict_and_changes_nothing(app, case_at_screen, caplog):
    """The version guard: should a change ever read an instance that another change then moved on,
    its write is refused, on every database and with every driver, and nothing of it is kept."""
    referrers, new_case = case_at_screen
    case_id = new_case()
    instance_id = db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_id == case_id))
    before = snapshot(instance_id)

    @atomic
    def write_as_of(version: int) -> None:
        instance = db.session.get(ProcessInstance, instance_id)
        set_committed_value(instance, "version", version)  # as if read before another change committed
        write_queue.update_row(instance, versioned=True, state="{}")
        audit.record(referrers[0], "instance.touch", case_id=case_id, instance_id=instance_id)

    with pytest.raises(Conflict):
        write_as_of(before[1] - 1)
    assert snapshot(instance_id) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "instance.touch")) == 0
    assert "pipeline" not in caplog.text
    write_as_of(before[1])
    assert snapshot(instance_id)[1] == before[1] + 1


def test_simultaneous_starts_for_one_child_start_one_pathway(app, make_actor, deploy):
    deploy("screening")
    referrers = [make_actor("referrer") for _ in range(3)]
    for _ in range(ROUNDS):
        case = cases.create(referrers[0], "north", "Race Child")
        db.session.commit()
        outcomes = race(app, [lambda a=a, c=case.id: runtime.start(a, c, "screening") for a in referrers])
        assert outcomes == ["conflict", "conflict", "ok"]
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)
                                 .where(ProcessInstance.case_id == case.id)) == 1
