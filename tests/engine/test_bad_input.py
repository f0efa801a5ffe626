"""Bad input gets a clear error and changes nothing: reserved names, failing expressions, odd ids, DOCTYPEs."""

import pytest
from sqlalchemy import select

from processes.engine import repository, runtime
from processes.engine.errors import BundleInvalid, InvalidInput, WorkflowFailed
from processes.engine.models import Timer
from processes.identity import users as identity
from processes.mace import cases
from tests.support.factories import bundle
from tests.support.tasks import open_task, snapshot


def test_reserved_names_in_start_data_and_payloads_are_refused(make_actor, deploy):
    deploy("screening")
    referrer = make_actor("referrer")
    case = cases.create(referrer, "north", "Guard Child")
    with pytest.raises(InvalidInput) as raised:
        runtime.start(referrer, case.id, "screening", {"__builtins__": {}, "_getattr_": 1})
    assert "__builtins__" in raised.value.errors["data"][0]
    runtime.start(referrer, case.id, "screening")
    with pytest.raises(InvalidInput):
        runtime.deliver_message(referrer, case.id, "missing_episode", {"_write_": 0})


def test_a_failing_due_expression_is_a_workflow_error_and_changes_nothing(make_actor):
    files = bundle("screening")
    files["screening.bpmn"] = files["screening.bpmn"].replace("value='\"P1D\"'", "value='int(concern)'")
    repository.deploy(None, "screening", files)
    referrer = make_actor("referrer")
    case = cases.create(referrer, "north", "Due Child")
    instance = runtime.start(referrer, case.id, "screening")
    before = snapshot(instance.id)
    with pytest.raises(WorkflowFailed) as raised:
        runtime.complete_task(referrer, open_task(case.id, "screen").id,
                              {"exploitation_types": ["online"], "concern": "Private words"})
    assert raised.value.element_id == "hub_decision"
    assert "Private words" not in raised.value.message
    assert snapshot(instance.id) == before


def test_a_doctype_after_a_long_comment_is_still_refused():
    xml = bundle("screening")["screening.bpmn"]
    head, rest = xml.split("\n", 1)
    padded = f'{head}\n<!--{"x" * 70_000}-->\n<!DOCTYPE d [<!ENTITY e "boom">]>\n{rest}'
    with pytest.raises(BundleInvalid) as raised:
        repository.deploy(None, "screening", {**bundle("screening"), "screening.bpmn": padded})
    assert "DOCTYPE" in raised.value.problems[0].message


def test_cancel_removes_waiting_timers(make_actor, deploy):
    deploy("screening")
    referrer, hub, manager = make_actor("referrer"), make_actor("hub_practitioner"), make_actor("team_manager")
    case = cases.create(referrer, "north", "Cancel Child")
    instance = runtime.start(referrer, case.id, "screening")
    runtime.complete_task(referrer, open_task(case.id, "screen").id, {"exploitation_types": ["online"], "concern": "x"})
    runtime.complete_task(hub, open_task(case.id, "hub_decision").id, {"decision": "other_services"})
    assert len(list(runtime.db.session.scalars(select(Timer)))) == 1
    runtime.cancel(manager, instance.id, "moved out of area")
    assert list(runtime.db.session.scalars(select(Timer))) == []


@pytest.mark.parametrize("path", ["/api/v1/cases/99999999999999999999999", "/api/v1/tasks/-1",
                                  "/api/v1/instances/2147483648", "/api/v1/tasks?offset=99999999999999999999"])
def test_out_of_range_ids_are_client_errors(app, make_actor, path):
    actor = make_actor("referrer")
    headers = {"Authorization": f"Bearer {identity.create_token(actor.username)}"}
    assert app.test_client().get(path, headers=headers).status_code in (400, 404)
