"""Deploy-time validation: every problem is reported with file and element id, and nothing is deployed."""

import json

import pytest

from processes.engine import repository
from processes.engine.errors import BundleInvalid, Forbidden
from tests.support.factories import bundle


def problems_for(files, key="screening"):
    with pytest.raises(BundleInvalid) as raised:
        repository.deploy(None, key, files)
    assert repository.count() == 0, "a bundle with problems must deploy nothing"
    return [(p.file, p.element_id, p.message) for p in raised.value.problems]


def screening_with(old, new):
    files = bundle("screening")
    assert old in files["screening.bpmn"]
    files["screening.bpmn"] = files["screening.bpmn"].replace(old, new)
    return files


def test_valid_bundle_deploys_as_version_1_and_identical_content_changes_nothing():
    first, created = repository.deploy(None, "screening", bundle("screening"))
    again, created_again = repository.deploy(None, "screening", bundle("screening"))
    assert (first.version, created) == (1, True)
    assert (again.id, created_again) == (first.id, False)
    assert repository.count() == 1


def test_changed_content_becomes_the_next_version():
    repository.deploy(None, "screening", bundle("screening"))
    changed = screening_with('name="Decide on the referral"', 'name="Decide on this referral"')
    second, created = repository.deploy(None, "screening", changed)
    assert (second.version, created) == (2, True)
    assert [d.version for d in repository.list_versions("screening")] == [2, 1]


def test_xml_that_does_not_parse_is_reported_with_its_line():
    files = screening_with("</bpmn:definitions>", "</bpmn:definitionz>")
    [(file, element, message)] = problems_for(files)
    assert file == "screening.bpmn" and element is None
    assert "does not parse" in message and "line" in message


def test_external_entities_are_refused():
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    files = {**bundle("screening"), "screening.bpmn": xxe}
    [(_, _, message)] = problems_for(files)
    assert "DOCTYPE" in message
    assert "root:" not in message


def test_entity_expansion_bomb_is_refused():
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    files = {**bundle("screening"), "screening.bpmn": f'<?xml version="1.0"?><!DOCTYPE d [{lol}]><d>&l9;</d>'}
    [(_, _, message)] = problems_for(files)
    assert "DOCTYPE" in message


def test_no_executable_process():
    files = screening_with('isExecutable="true"', 'isExecutable="false"')
    assert any("No process of the bundle is executable" in m for _, _, m in problems_for(files))


def test_user_task_in_no_lane():
    files = screening_with("<bpmn:flowNodeRef>hub_decision</bpmn:flowNodeRef>", "")
    assert ("screening.bpmn", "hub_decision",
            "The user task is in no lane: put it in the lane of the role that does it.") in problems_for(files)


def test_lane_that_is_not_a_role():
    files = screening_with('name="Hub practitioner"', 'name="Front desk"')
    found = problems_for(files)
    assert ("screening.bpmn", "hub_decision", "The lane 'Front desk' is not a known role.") in found
    assert ("screening.bpmn", "followup", "The lane 'Front desk' is not a known role.") in found


def test_missing_form_file():
    files = bundle("screening")
    del files["hub_decision.schema.json"]
    assert ("screening.bpmn", "hub_decision",
            "The form file 'hub_decision.schema.json' is not in the bundle.") in problems_for(files)


def test_form_that_is_not_valid_json_schema():
    files = bundle("screening")
    files["ric.schema.json"] = json.dumps({"type": "object", "properties": {"risk_level": {"type": "colour"}}})
    [(file, element, message)] = problems_for(files)
    assert (file, element) == ("ric.schema.json", None)
    assert "not a valid JSON Schema at properties/risk_level/type" in message


def test_form_that_is_not_json():
    files = {**bundle("screening"), "ric.schema.json": "{not json"}
    [(file, _, message)] = problems_for(files)
    assert file == "ric.schema.json" and "not valid JSON" in message


def test_timer_that_is_not_iso_8601():
    [(file, element, message)] = problems_for(screening_with('"PT72H"', '"three days"'))
    assert (file, element) == ("screening.bpmn", "wait_followup")
    assert "'three days', which is not an ISO 8601" in message


def test_timer_depending_on_case_data_is_accepted_at_deploy():
    files = screening_with('"PT72H"', "followup_after")
    files["screening.bpmn"] = files["screening.bpmn"].replace(
        "ric_requested = True", "ric_requested = True\nfollowup_after = 'PT72H'")
    _, created = repository.deploy(None, "screening", files)
    assert created


def test_escalate_that_is_not_true_or_false():
    files = screening_with('name="escalate" value="true"', 'name="escalate" value="yes"')
    [(file, element, message)] = problems_for(files)
    assert (file, element) == ("screening.bpmn", "hub_decision")
    assert message == "The property escalate must be 'true' or 'false', not 'yes'."


def test_escalate_on_a_step_with_no_due_time():
    files = screening_with("""<spiffworkflow:property name="due_in" value='"P1D"' />""", "")
    [(file, element, message)] = problems_for(files)
    assert (file, element) == ("screening.bpmn", "hub_decision")
    assert "escalates but has no due time" in message


def test_script_that_does_not_compile():
    [(file, element, message)] = problems_for(screening_with("ric_requested = True", "ric_requested = ("))
    assert (file, element) == ("screening.bpmn", "prepare")
    assert message.startswith("The script does not compile")


def test_condition_that_does_not_compile():
    found = problems_for(screening_with('decision == "allocate"', 'decision === "allocate"'))
    assert [(f, e) for f, e, m in found if "condition does not compile" in m] == [("screening.bpmn", "flow_allocate")]


def test_process_without_diagram_interchange():
    files = bundle("loop")
    xml = files["loop.bpmn"]
    files["loop.bpmn"] = xml[: xml.index("<bpmndi:BPMNDiagram")] + "</bpmn:definitions>\n"
    [(file, element, message)] = problems_for(files, key="loop")
    assert (file, element) == ("loop.bpmn", "loop")
    assert "no diagram (BPMN DI)" in message


def test_element_missing_from_the_diagram():
    files = screening_with('bpmnElement="followup"', 'bpmnElement="elsewhere"')
    assert ("screening.bpmn", "followup", "The element has no shape in the diagram (BPMN DI).") in problems_for(files)


def test_unknown_file_type_is_reported():
    assert ("notes.txt", None, "Unknown file type: a bundle holds .bpmn, .dmn and .json form files.") in \
        problems_for({**bundle("screening"), "notes.txt": "hello"})


def test_only_process_owners_deploy(make_actor):
    worker = make_actor("allocated_worker")
    with pytest.raises(Forbidden):
        repository.deploy(worker, "screening", bundle("screening"))
    owner = make_actor("process_owner")
    definition, _ = repository.deploy(owner, "screening", bundle("screening"))
    assert definition.deployed_by_id == owner.id


def test_ui_hints_that_name_a_field_the_form_lacks():
    files = {**bundle("screening"), "screening.uischema.json": json.dumps({"ui:order": ["concern", "colour"]})}
    assert problems_for(files) == [("screening.uischema.json", None, "The UI hints name the field 'colour', "
                                    "which screening.schema.json does not have.")]


def test_a_question_revealed_by_another_must_name_a_field_the_form_has():
    files = {**bundle("screening"), "screening.uischema.json": json.dumps(
        {"concern": {"ui:revealWhen": {"colour": "red"}}})}
    assert problems_for(files) == [("screening.uischema.json", None, "The UI hints name the field 'colour', "
                                                                     "which screening.schema.json does not have.")]


def test_ui_hints_without_their_form():
    files = {**bundle("screening"), "orphan.uischema.json": json.dumps({"ui:order": []})}
    [(file, _, message)] = problems_for(files)
    assert file == "orphan.uischema.json" and "add orphan.schema.json" in message


def test_ui_hints_property_naming_a_missing_file():
    files = screening_with('<spiffworkflow:property name="formJsonSchemaFilename" value="ric.schema.json" />',
                           '<spiffworkflow:property name="formJsonSchemaFilename" value="ric.schema.json" />'
                           '<spiffworkflow:property name="formUiSchemaFilename" value="ric.uischema.json" />')
    assert problems_for(files) == [("screening.bpmn", "ric_discussion",
                                    "The UI hints file 'ric.uischema.json' is not in the bundle.")]
