"""A loop drawn with a back edge stays flat: finished iterations are pruned from saved state, and the instance
still goes on, waits, joins and ends exactly as one never pruned would, with the same data."""

from __future__ import annotations

import json
from datetime import timedelta

import time_machine
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from processes.engine import bundle as bundles
from processes.engine import runtime, serialization, workflow_sync
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessInstance, Timer
from processes.mace import casefile, cases
from tests.support.web import signed_in_client

ROLES = {"Referrer": "referrer", "Hub practitioner": "hub_practitioner", "Allocated worker": "allocated_worker",
         "Team manager": "team_manager"}


class Run:
    """One case of a loop bundle run through the service layer, beside the same diagram run in bare
    SpiffWorkflow and never pruned, both given the same answers."""

    def __init__(self, make_actor, deploy, name: str):
        definition = deploy(name)
        self.actors = {role: make_actor(role) for role in ROLES.values()}
        self.case = cases.create(self.actors["referrer"], "north", "Looping Child")
        self.instance_id = runtime.start(self.actors["referrer"], self.case.id, name).id
        parsed = self.parsed = bundles.for_definition(definition)
        self.reference = serialization.new_workflow(parsed, name)
        self.reference.data.update({bundles.CASE_AREA: "north"})
        for task in self.reference.get_tasks(state=TaskState.READY):
            task.data.update({bundles.CASE_AREA: "north"})
        self.reference.do_engine_steps()

    def open_rows(self) -> list[HumanTask]:
        return list(db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == self.instance_id, HumanTask.status == "open").order_by(HumanTask.element_id)))

    def complete(self, element_id: str, data: dict) -> None:
        [row] = [r for r in self.open_rows() if r.element_id == element_id]
        runtime.complete_task(self.actors[row.role], row.id, data)
        [task] = [t for t in workflow_sync.ready_user_tasks(self.reference).values()
                  if t.task_spec.bpmn_id == element_id]
        form = self.parsed.forms.get(workflow_sync.properties(task).get(bundles.FORM_PROPERTY), {})
        for name in form.get("properties", {}):  # as the service does: this step's answers are only today's
            task.data.pop(name, None)
        task.data.update(data)
        task.run()
        self.reference.do_engine_steps()

    def instance(self) -> ProcessInstance:
        return db.session.get(ProcessInstance, self.instance_id)

    def saved(self):
        instance = self.instance()
        return serialization.load(instance.state, bundles.for_definition(instance.definition), instance.process_id)

    def assert_same_as_never_pruned(self) -> None:
        """The saved workflow, restored, waits where the unpruned one does, with the same data."""
        saved = self.saved()
        mask = TaskState.NOT_FINISHED_MASK
        assert _live(saved, mask) == _live(self.reference, mask)
        assert saved.data == self.reference.data
        assert saved.is_completed() == self.reference.is_completed()
        open_ids = {r.spiff_task_id for r in self.open_rows()}
        assert open_ids == set(workflow_sync.ready_user_tasks(saved)), "the rows still name the open tasks"


def _live(workflow, mask) -> list[tuple[str, int, str]]:
    """The unfinished tasks by element and state, with their data: what the workflow goes on from."""
    return sorted((t.task_spec.name, t.state, json.dumps(t.data, sort_keys=True, default=str))
                  for t in workflow.get_tasks(state=mask))


def approve(another: bool, cycle: int) -> dict:
    return {"note": f"approved in cycle {cycle}", "another_cycle": another}


def test_a_back_edge_loop_at_cycle_40_stores_runs_and_ends_like_one_never_pruned(make_actor, deploy):
    run = Run(make_actor, deploy, "loop_back")
    sizes = {}
    for cycle in range(1, 41):
        for step in ("step_1", "step_2", "step_3"):
            run.complete(step, {"note": f"{step} in cycle {cycle}"})
        sizes[cycle] = len(run.instance().state)
        run.assert_same_as_never_pruned()
        run.complete("step_4", approve(True, cycle))
    assert max(sizes.values()) <= sizes[2] * 1.02, sizes
    assert sizes[40] <= sizes[1] * 1.1, sizes
    assert len(run.reference.tasks) > 10 * len(run.saved().tasks), "the unpruned tree grew; the saved one did not"

    for step in ("step_1", "step_2", "step_3"):
        run.complete(step, {"note": "last"})
    run.complete("step_4", approve(False, 41))
    assert run.instance().status == "completed" and run.reference.is_completed()
    assert run.saved().data == run.reference.data
    assert db.session.query(ProcessInstance).filter_by(case_id=run.case.id).count() == 1, "one instance throughout"


def test_a_parallel_join_inside_a_loop_waits_for_every_branch_of_its_own_cycle(make_actor, deploy):
    run = Run(make_actor, deploy, "loop_parallel")
    sizes = {}
    for cycle in range(1, 13):
        run.complete("step_1", {"note": f"cycle {cycle}"})
        # Each branch in turn, the state saved (and pruned) between them: the join must still count the
        # branches finished before the save, and only this cycle's.
        for view in ("view_hub", "view_worker"):
            run.complete(view, {"note": f"{view} in cycle {cycle}"})
            assert [r.element_id for r in run.open_rows()] != ["step_4"], "the join waits for every view"
            run.assert_same_as_never_pruned()
        run.complete("view_manager", {"note": f"manager in cycle {cycle}"})
        assert [r.element_id for r in run.open_rows()] == ["step_4"], "all three views in: the join fires"
        run.assert_same_as_never_pruned()
        sizes[cycle] = len(run.instance().state)
        run.complete("step_4", approve(True, cycle))
    assert max(sizes.values()) <= sizes[2] * 1.02, sizes
    run.complete("step_1", {"note": "last"})
    for view in ("view_manager", "view_worker", "view_hub"):
        run.complete(view, {"note": "last"})
    run.complete("step_4", approve(False, 13))
    assert run.instance().status == "completed" and run.reference.is_completed()
    assert run.saved().data == run.reference.data


def test_a_timer_inside_a_loop_waits_and_fires_in_every_cycle(make_actor, deploy):
    run = Run(make_actor, deploy, "loop_timer")
    sizes = {}
    with time_machine.travel(now(), tick=False) as clock:
        for cycle in range(1, 13):
            run.complete("step_1", {"note": f"cycle {cycle}"})
            [timer] = db.session.scalars(select(Timer).where(Timer.instance_id == run.instance_id)).all()
            assert timer.spiff_task_id in workflow_sync.waiting_timers(run.saved()), "the row names the saved timer"
            assert run.open_rows() == []
            sizes[cycle] = len(run.instance().state)
            clock.shift(timedelta(days=1, minutes=1))
            assert runtime.fire_due_timers(run.instance_id) == ["wait"]
            run.reference.refresh_timers()
            run.reference.do_engine_steps()
            assert [r.element_id for r in run.open_rows()] == ["step_4"]
            run.assert_same_as_never_pruned()
            run.complete("step_4", approve(cycle < 12, cycle))
    assert max(sizes.values()) <= sizes[2] * 1.02, sizes
    assert run.instance().status == "completed" and run.reference.is_completed()
    assert db.session.scalars(select(Timer).where(Timer.instance_id == run.instance_id)).all() == []


def test_the_case_page_shows_every_cycles_answers_from_the_rows(app, make_actor, deploy):
    run = Run(make_actor, deploy, "loop_back")
    for cycle in range(1, 26):
        for step in ("step_1", "step_2", "step_3"):
            run.complete(step, {"note": f"{step} in cycle {cycle}"})
        run.complete("step_4", approve(True, cycle))
    first = db.session.scalar(select(HumanTask).where(HumanTask.case_id == run.case.id).order_by(HumanTask.id))
    assert first.spiff_task_id not in run.instance().state, "the first cycle is no longer in the saved state"

    answers = casefile.answers_of(run.case.id, casefile.steps_of(run.case.id))
    assert len(answers) == 25 * 4
    assert answers[0].step.id == first.id and answers[0].data == {"note": "step_1 in cycle 1"}
    assert answers[-1].data == approve(True, 25)

    make_actor("team_manager", username="viewer")
    page = signed_in_client(app, "viewer").get(f"/cases/{run.case.id}").get_data(as_text=True)
    assert "step_1 in cycle 1" in page and "step_3 in cycle 25" in page


def test_steps_completed_before_answers_had_a_column_get_them_from_saved_state(tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app import create_app
    from processes.engine import repository
    from processes.identity import users as identity
    from tests.support.factories import bundle

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "TESTING": True})
    with app.app_context():
        upgrade()
        identity.create_area("north", "North")
        definition, _ = repository.deploy(None, "loop_back", bundle("loop_back"))
        # Saved state as the release before wrote it: unpruned, every finished task still in it.
        workflow = serialization.new_workflow(bundles.for_definition(definition), "loop_back")
        workflow.do_engine_steps()
        given = {"step_1": {"note": "first"}, "step_2": {"note": "second"}, "step_3": {"note": "second"},
                 "step_4": {"another_cycle": True}}
        done = []
        for element_id, answers in [*given.items(), ("step_1", {"note": "again"})]:
            [task] = workflow_sync.ready_user_tasks(workflow).values()
            task.data.pop("note", None)
            task.data.update(answers)
            task.run()
            workflow.do_engine_steps()
            done.append((str(task.id), element_id, workflow_sync.properties(task)[bundles.FORM_PROPERTY]))
        state, definition_id, at = serialization.dump(workflow), definition.id, now()
        db.session.remove()

        downgrade(revision="a7e3c1f2d9b0")
        with db.engine.begin() as conn:
            case_id = conn.execute(text("INSERT INTO cases (area_code, child_name, created_at) "
                                        "VALUES ('north', 'Old Child', :at) RETURNING id"), {"at": at}).scalar()
            instance_id = conn.execute(text(
                "INSERT INTO process_instances (case_id, definition_id, process_id, status, state, version, "
                "started_at) VALUES (:case, :definition, 'loop_back', 'running', :state, 1, :at) RETURNING id"),
                {"case": case_id, "definition": definition_id, "state": state, "at": at}).scalar()
            for spiff_id, element_id, form in done:
                conn.execute(text(
                    "INSERT INTO human_tasks (instance_id, case_id, area_code, spiff_task_id, element_id, process_id, "
                    "name, role, form, status, created_at, completed_at) VALUES (:instance, :case, 'north', :spiff, "
                    ":element, 'loop_back', :element, 'referrer', :form, 'completed', :at, :at)"),
                    {"instance": instance_id, "case": case_id, "spiff": spiff_id, "element": element_id, "form": form,
                     "at": at})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT element_id, answers FROM human_tasks ORDER BY id")).all()
        db.session.remove()
        db.engine.dispose()
    found = [(element_id, json.loads(answers) if isinstance(answers, str) else answers) for element_id, answers in rows]
    assert found == [("step_1", {"note": "first"}), ("step_2", {"note": "second"}),
                     # required fields are this step's answer even when the step before gave the same value
                     ("step_3", {"note": "second"}),
                     ("step_4", {"another_cycle": True}), ("step_1", {"note": "again"})]
