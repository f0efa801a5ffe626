"""BPMN scripts run restricted: each escape attempt fails clearly and leaves the instance unchanged."""

import pytest

from processes.engine import repository, runtime
from processes.engine.errors import BundleInvalid
from tests.support.factories import bundle, screen, start_case
from tests.support.tasks import open_task


def deploy_with_script(script: str):
    files = bundle("screening")
    files["screening.bpmn"] = files["screening.bpmn"].replace("ric_requested = True", script)
    return repository.deploy(None, "screening", files)


@pytest.fixture
def at_hub_decision(make_actor):
    referrer, hub = make_actor("referrer"), make_actor("hub_practitioner")

    def prepare(script: str):
        deploy_with_script(script)
        case, instance = start_case(referrer, "screening", "Script Child")
        screen(referrer, case.id, concern="x")
        return hub, case, instance

    return prepare


@pytest.mark.parametrize("script", [
    "ric_requested = ().__class__.__bases__[0].__subclasses__()",
    "ric_requested = decision.__class__",
    "ric_requested = __import__('os')",
    "ric_requested = [c for c in ().__class__.__mro__]",
    "ric_requested = eval('1')",
    # Refused at deploy, as the README promises, rather than failing when the step runs.
    "import os\nric_requested = os.getcwd()",
    "from subprocess import run",
    "ric_requested = open('/etc/passwd').read()",
    "import socket\nsocket.create_connection(('127.0.0.1', 5432))",
    "ric_requested = getattr(decision, 'upper')",
])
def test_escapes_and_dunder_access_are_refused_at_deploy_with_the_element_id(script):
    with pytest.raises(BundleInvalid) as raised:
        deploy_with_script(script)
    [problem] = raised.value.problems
    assert (problem.file, problem.element_id) == ("screening.bpmn", "prepare")
    assert "not allowed" in problem.message or "starts with \"_\"" in problem.message
    assert repository.count() == 0


def test_allowed_scripts_compute_over_task_data(at_hub_decision):
    hub, case, _ = at_hub_decision("labels = [d.upper() for d in [decision]]\nric_requested = len(labels) == 1")
    runtime.complete_task(hub, open_task(case.id, "hub_decision").id, {"decision": "allocate"})
    assert open_task(case.id, "ric_discussion")
