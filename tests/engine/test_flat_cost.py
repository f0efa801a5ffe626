"""A case's age must not slow it: the stored state and the work of a step stay flat over review cycles."""

from sqlalchemy import event, select

from processes.engine import runtime
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessInstance
from processes.mace import cases

ROLES = ("referrer", "hub_practitioner", "allocated_worker", "team_manager")


def test_fortieth_cycle_stores_and_runs_like_the_first(make_actor, deploy):
    deploy("loop")
    actors = [make_actor(role) for role in ROLES]
    case = cases.create(actors[0], "north", "Long Case")
    runtime.start(actors[0], case.id, "loop")
    state_sizes, statements = {}, {}

    def count(*_args):
        statements[cycle] = statements.get(cycle, 0) + 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for cycle in range(1, 41):
            for step, actor in enumerate(actors, start=1):
                [task] = db.session.scalars(select(HumanTask).where(
                    HumanTask.case_id == case.id, HumanTask.status == "open")).all()
                data = {"note": f"cycle {cycle}"} | ({"another_cycle": True} if step == 4 else {})
                runtime.complete_task(actor, task.id, data)
                if step == 3:
                    current = db.session.get(ProcessInstance, task.instance_id)
                    state_sizes[cycle] = len(current.state)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    # Cycle 2 onwards carries the previous cycle's answers forward; from then on the size must not move.
    assert max(state_sizes.values()) <= state_sizes[2] * 1.01, state_sizes
    assert state_sizes[40] <= state_sizes[1] * 1.05, state_sizes
    assert statements[40] == statements[1], statements
    assert db.session.query(ProcessInstance).filter_by(case_id=case.id).count() == 41
