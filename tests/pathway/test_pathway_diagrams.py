"""The pathway's diagrams as process owners see them: complete, labelled, readable, and importable by bpmn-js."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from processes.engine import bundle, bundle_files, validation
from processes.mace.demo import ANSWERS, PATHWAY_FOLDERS, ROOT
from processes.mace.roles import role_for_lane
from tests.support.pathway import ROLE_OF_STEP
from tests.support.services import skip_or_fail

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))
LABELLED = ("userTask", "scriptTask", "callActivity", "businessRuleTask", "exclusiveGateway", "parallelGateway",
            "startEvent", "endEvent", "intermediateCatchEvent", "boundaryEvent")
VIEWER = ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-viewer.production.min.js"


@pytest.fixture(scope="module")
def parsed():
    files = bundle_files.read_folder(*PATHWAY_FOLDERS)
    problems, parsed = validation.validate(files, "mace")
    assert problems == [], problems
    return parsed


def tree(path: Path) -> etree._ElementTree:
    return bundle.parse_xml(path.read_bytes())


def bounds(shape) -> tuple[float, float, float, float]:
    b = shape.find("dc:Bounds", NS)
    return float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height"))


def test_the_main_process_calls_a_process_for_every_stage(parsed):
    assert bundle.called_process_ids(parsed.specs["mace"]) == {
        "referral", "ric_case_discussion", "ric_meeting", "plan_circulation", "mace1", "after_mace1", "review",
        "escalation", "community_support"}
    assert parsed.message_starts == {"missing_episode": "missing_episode"}


def test_every_user_task_has_a_form_with_ui_hints_and_a_lane_that_is_a_role(parsed):
    user_tasks = [ts for spec in parsed.all_specs() for ts in spec.task_specs.values() if isinstance(ts, UserTask)]
    assert user_tasks and {ts.bpmn_id for ts in user_tasks} == set(ANSWERS) == set(ROLE_OF_STEP), \
        "the demo and the tests hold an answer and a role for every step, however many the process owner draws"
    for task in user_tasks:
        props = task.extensions["properties"]
        form = props.get(bundle.FORM_PROPERTY)
        assert role_for_lane(task.lane), f"{task.bpmn_id}: lane '{task.lane}' is not a role"
        assert form in parsed.forms, f"{task.bpmn_id}: no form"
        hints = parsed.ui_schemas.get(bundle.ui_schema_name(form))
        assert hints is not None, f"{task.bpmn_id}: no UI hints for {form}"
        assert hints["ui:order"] == list(parsed.forms[form]["properties"]), f"{form}: every field, in order"


def test_every_form_marks_required_fields_and_offers_choices_as_lists(parsed):
    for name, schema in parsed.forms.items():
        assert schema["required"] and set(schema["required"]) <= set(schema["properties"]), name
        assert schema["additionalProperties"] is False and schema.get("title"), name
        for field, spec in schema["properties"].items():
            assert spec.get("title"), f"{name}: {field} needs a question a practitioner reads"
            options = spec.get("oneOf") or spec.get("items", {}).get("oneOf") or []
            assert all(o.get("title") for o in options), f"{name}: {field}: every choice has a label"


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_every_element_is_labelled_and_every_conditional_flow_says_when(path):
    root = tree(path).getroot()
    for kind in LABELLED:
        for element in root.iter(f"{{{NS['bpmn']}}}{kind}"):
            assert (element.get("name") or "").strip(), f"{path.name}: {element.get('id')} has no label"
    for flow in root.iter(f"{{{NS['bpmn']}}}sequenceFlow"):
        if flow.find("bpmn:conditionExpression", NS) is not None or flow.get("id") == _default_of(root, flow):
            assert (flow.get("name") or "").strip(), f"{path.name}: {flow.get('id')} has a condition but no label"


def _default_of(root, flow) -> str | None:
    source = root.find(f".//*[@id='{flow.get('sourceRef')}']")
    return source.get("default") if source is not None else None


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_diagrams_read_left_to_right_in_lanes_without_overlapping_shapes(path):
    root = tree(path).getroot()
    shapes = {s.get("bpmnElement"): bounds(s) for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    lanes = {el.get("id") for el in root.iter(f"{{{NS['bpmn']}}}lane", f"{{{NS['bpmn']}}}participant")}
    boundary = {el.get("id") for el in root.iter(f"{{{NS['bpmn']}}}boundaryEvent")}
    nodes = {k: v for k, v in shapes.items() if k not in lanes and k not in boundary}
    items = sorted(nodes.items())
    for i, (a, (ax, ay, aw, ah)) in enumerate(items):
        for b, (bx, by, bw, bh) in items[i + 1:]:
            assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah), f"{a} overlaps {b}"
    for lane in root.iter(f"{{{NS['bpmn']}}}lane"):
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[ref.text]
            assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, f"{ref.text} outside its lane"
    for flow in root.iter(f"{{{NS['bpmn']}}}sequenceFlow"):
        if flow.get("sourceRef") in boundary:
            continue
        source, target = shapes[flow.get("sourceRef")], shapes[flow.get("targetRef")]
        assert source[0] < target[0], f"{flow.get('id')} runs right to left"


@pytest.fixture(scope="module")
def browser_page(chromium):
    if not VIEWER.exists():
        skip_or_fail("bpmn-js import needs node_modules/bpmn-js: make setup runs npm ci")
    page = chromium.new_page()
    page.set_content('<div id="canvas" style="width:1600px;height:900px"></div>')
    page.add_script_tag(path=str(VIEWER))
    yield page
    page.close()


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_bpmn_js_imports_the_diagram_without_warnings(browser_page, path):
    result = browser_page.evaluate("""async (xml) => {
        const viewer = new BpmnJS({container: '#canvas'});
        try {
            const {warnings} = await viewer.importXML(xml);
            const drawn = viewer.get('elementRegistry').getAll().length;
            return {warnings: warnings.map(w => w.message), drawn};
        } catch (error) { return {warnings: ['import failed: ' + error.message], drawn: 0}; }
        finally { viewer.destroy(); }
    }""", path.read_text(encoding="utf-8"))
    assert result["warnings"] == []
    elements = sum(1 for el in tree(path).getroot().iter() if el.get("id") and etree.QName(el).localname in
                   {*LABELLED, "sequenceFlow", "lane", "participant"})
    assert result["drawn"] >= elements, "every element is drawn"
