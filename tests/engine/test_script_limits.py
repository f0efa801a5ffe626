"""A script bomb fails its step as a workflow error naming the element, quickly, and leaves the instance usable."""

import time
from datetime import timedelta

import pytest
import time_machine

from processes.engine import repository, runtime, scheduler, scripting
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import WorkflowFailed
from processes.engine.models import Incident
from processes.identity import users as identity
from processes.mace import cases
from tests.support.factories import bundle
from tests.support.tasks import open_task, snapshot

BOMBS = [
    "ric_requested = 10**10**10",
    "ric_requested = 'x'*10**10",
    "ric_requested = [0]*10**10",
    "ric_requested = 1 &lt;&lt; 10**12",  # XML text: 1 << 10**12
    "ric_requested = pow(10, 10**10)",
    "ric_requested = sum(range(10**12))",
    "ric_requested = 'x'.ljust(10**10)",
    "ric_requested = '%10000000000d' % 1",
    "x = 'x'\nx *= 10**10",
    "while True: pass",
    "n = 0\nwhile True:\n    n += 1",
    "def f(n):\n    return f(n + 1)\nric_requested = f(0)",
    "ric_requested = [i * j for i in range(10**6) for j in range(10**6)]",
    # Not errors at all: left alone they would end a worker or the scheduler's thread.
    "ric_requested = (i for i in [1]).throw(SystemExit)",
    "raise KeyboardInterrupt",
    "raise GeneratorExit",
    "raise SystemExit(0)",
]


@pytest.fixture
def at_hub_decision(make_actor):
    """A case at its hub decision, on a version whose next script is `script`."""
    referrer, hub = make_actor("referrer"), make_actor("hub_practitioner")

    def prepare(script: str):
        files = bundle("screening")
        files["screening.bpmn"] = files["screening.bpmn"].replace("ric_requested = True", script)
        repository.deploy(None, "screening", files)
        case = cases.create(referrer, "north", "Script Child")
        instance = runtime.start(referrer, case.id, "screening")
        runtime.complete_task(referrer, open_task(case.id, "screen").id,
                              {"exploitation_types": ["online"], "concern": "x"})
        return hub, case, instance

    return prepare


@pytest.mark.parametrize("script", BOMBS)
def test_a_script_bomb_fails_the_step_naming_the_element_within_a_second_or_so(at_hub_decision, script):
    hub, case, instance = at_hub_decision(script)
    task = open_task(case.id, "hub_decision")
    before = snapshot(instance.id)
    started = time.monotonic()
    with pytest.raises(WorkflowFailed) as raised:
        runtime.complete_task(hub, task.id, {"decision": "allocate"})
    assert time.monotonic() - started < 3
    assert raised.value.element_id == "prepare"
    assert raised.value.status == 422
    assert snapshot(instance.id) == before
    # The lock was released and nothing half-done was kept: the same step can be tried again at once.
    with pytest.raises(WorkflowFailed):
        runtime.complete_task(hub, task.id, {"decision": "allocate"})
    assert open_task(case.id, "hub_decision").id == task.id


def test_the_api_answers_422_naming_the_element_and_the_instance_stays_usable(app, at_hub_decision, make_actor):
    hub, case, instance = at_hub_decision("while True: pass")
    headers = {"Authorization": f"Bearer {identity.create_token(hub.username)}"}
    task = open_task(case.id, "hub_decision")
    client = app.test_client()
    started = time.monotonic()
    response = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"decision": "allocate"}},
                           headers=headers)
    assert time.monotonic() - started < 3
    assert response.status_code == 422 and response.is_json
    body = response.get_json()
    assert (body["code"], body["element_id"]) == ("workflow_error", "prepare")
    assert "time limit" in body["message"]
    # Another step of the same instance still goes through: the failure held no lock.
    manager = make_actor("team_manager")
    runtime.cancel(manager, instance.id, "the pathway is being fixed")


def test_limits_are_settings_and_good_scripts_are_unaffected():
    env = scripting.RestrictedEnvironment()
    assert env.evaluate("2**64 + len('ab' * 1000) + sum(range(1000))", {}) == 2**64 + 2000 + 499500
    try:
        scripting.configure(scripting.Limits(seconds=1, memory_mb=1))
        with pytest.raises(scripting.ScriptLimit, match="1 MB"):
            env.evaluate("'x' * (2 * 2**20)", {})
    finally:
        scripting.configure(scripting.Limits())


def test_a_due_in_that_raises_system_exit_becomes_an_incident_and_the_sweep_carries_on(make_actor):
    referrer = make_actor("referrer")
    files = bundle("quick_followup")
    files["quick_followup.bpmn"] = files["quick_followup.bpmn"].replace(
        """value='"P7D"'""", """value='(i for i in [1]).throw(SystemExit)'""")
    repository.deploy(None, "quick_followup", files)
    hub = make_actor("hub_practitioner")
    case = cases.create(referrer, "north", "Timer Child")
    instance = runtime.start(referrer, case.id, "quick_followup")
    runtime.complete_task(hub, open_task(case.id, "decide").id, {"note": "x"})
    with time_machine.travel(now() + timedelta(seconds=5), tick=False):
        report = scheduler.sweep_here()
    [incident_id] = report.incident_ids
    incident = db.session.get(Incident, incident_id)
    assert (incident.instance_id, incident.element_id) == (instance.id, "followup")
    assert "ScriptAborted" in incident.error or "SystemExit" in incident.error
