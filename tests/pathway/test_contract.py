"""The contract: a pathway bundle that renames any name the Python reads is refused, naming the file and the name."""

from __future__ import annotations

import json
import re

import pytest
from lxml import etree

from processes.engine import bundle_files, repository
from processes.engine.bundle import DUE_PROPERTY, parse_xml
from processes.engine.errors import BundleInvalid
from processes.mace import contract, facts
from processes.mace.contract import REQUIRED, Requirement
from processes.mace.demo import PATHWAY_FOLDERS, ROOT
from processes.mace.roles import ROLES
from tests.support.factories import bundle

RENAMED = "renamed_by_the_test"
# Attributes and texts by which one BPMN element names another (and a process names its next cycle).
REFERENCES = ("id", "sourceRef", "targetRef", "bpmnElement", "attachedToRef", "calledElement", "processRef")
REFERENCING_TEXTS = ("flowNodeRef", "incoming", "outgoing")
EXPRESSIONS = ("script", "conditionExpression", "timeDate", "timeDuration", "timeCycle")


def shipped() -> dict[str, str]:
    return bundle_files.read_folder(*PATHWAY_FOLDERS)


def _rewrite_diagrams(files: dict[str, str], change) -> dict[str, str]:
    """Each diagram with `change(element)` applied to every element."""
    out = dict(files)
    for name, text in files.items():
        if name.endswith(".bpmn"):
            root = parse_xml(text).getroot()
            for element in root.iter():
                if isinstance(element.tag, str):
                    change(element)
            out[name] = etree.tostring(root, encoding="unicode")
    return out


def rename_element(files: dict[str, str], old: str) -> dict[str, str]:
    """An element or process id renamed with every reference to it: flows, lanes, DI, call activities and the
    next cycle's `continue_as_new`."""

    def change(element) -> None:
        for attribute in REFERENCES:
            if element.get(attribute) == old:
                element.set(attribute, RENAMED)
        if etree.QName(element).localname in REFERENCING_TEXTS and (element.text or "").strip() == old:
            element.text = RENAMED
        if element.get("name") == "continue_as_new" and element.get("value") == old:
            element.set("value", RENAMED)

    return _rewrite_diagrams(files, change)


def rename_variable(files: dict[str, str], old: str) -> dict[str, str]:
    """A variable renamed wherever scripts and expressions read or set it (not element ids that share its name)."""
    word = re.compile(rf"\b{re.escape(old)}\b")

    def change(element) -> None:
        if etree.QName(element).localname in EXPRESSIONS and element.text:
            element.text = word.sub(RENAMED, element.text)
        if element.get("name") == DUE_PROPERTY and element.get("value"):
            element.set("value", word.sub(RENAMED, element.get("value")))

    return _rewrite_diagrams(files, change)


def _rename_key(mapping: dict, old: str) -> dict:
    return {(RENAMED if key == old else key): value for key, value in mapping.items()}


def _rename_nested(schema: dict, path: list[str]) -> bool:
    """The field at a dotted path (`*` for an array's rows) renamed in place, with its required list."""
    if path[0] == "*":
        return isinstance(schema.get("items"), dict) and _rename_nested(schema["items"], path[1:])
    props = schema.get("properties", {})
    if path[0] not in props:
        return False
    if len(path) > 1:
        return _rename_nested(props[path[0]], path[1:])
    schema["properties"] = _rename_key(props, path[0])
    schema["required"] = [RENAMED if f == path[0] else f for f in schema.get("required", [])]
    return True


def rename_field(files: dict[str, str], old: str) -> dict[str, str]:
    """A form field renamed in every form that has it, its required list and its UI hints; a dotted name
    (`actions.*.agency`) renames a field of a form's repeating rows."""
    out = dict(files)
    if "." in old:
        for name, text in files.items():
            schema = json.loads(text) if name.endswith(".schema.json") else {}
            if schema and _rename_nested(schema, old.split(".")):
                out[name] = json.dumps(schema)
        return out
    for name, text in files.items():
        schema = json.loads(text) if name.endswith(".schema.json") else {}
        if old not in schema.get("properties", {}):
            continue
        schema["properties"] = _rename_key(schema["properties"], old)
        schema["required"] = [RENAMED if f == old else f for f in schema.get("required", [])]
        out[name] = json.dumps(schema)
        hints_name = name.removesuffix(".schema.json") + ".uischema.json"
        if hints_name in files:
            hints = _rename_key(json.loads(files[hints_name]), old)
            hints["ui:order"] = [RENAMED if f == old else f for f in hints.get("ui:order", [])]
            out[hints_name] = json.dumps(hints)
    return out


def rename_report_kind(files: dict[str, str], old: str) -> dict[str, str]:
    """A report kind renamed in every form field (or field of repeating rows) marked with it."""

    def mark(spec):
        if isinstance(spec, dict):
            return {key: (RENAMED if key == facts.REPORT_KEYWORD and value == old else mark(value))
                    for key, value in spec.items()}
        return [mark(item) for item in spec] if isinstance(spec, list) else spec

    return {name: json.dumps(mark(json.loads(text))) if name.endswith(".schema.json") else text
            for name, text in files.items()}


def rename_timescale(files: dict[str, str], old: str) -> dict[str, str]:
    """A timescale renamed in timescales.json."""
    config = json.loads(files["timescales.json"])
    config["timescales"] = _rename_key(config["timescales"], old)
    return {**files, "timescales.json": json.dumps(config)}


RENAMES = {contract.PROCESS: rename_element, contract.USER_TASK: rename_element,
           contract.VARIABLE: rename_variable, contract.FORM_FIELD: rename_field,
           contract.REPORT_KIND: rename_report_kind, contract.TIMESCALE: rename_timescale}


def refusal(files: dict[str, str], key: str = contract.PATHWAY_KEY) -> list[tuple[str, str | None, str]]:
    with pytest.raises(BundleInvalid) as refused:
        repository.deploy(None, key, files)
    return [(p.file, p.element_id, p.message) for p in refused.value.problems]


def test_the_shipped_pathway_keeps_the_contract():
    definition, created = repository.deploy(None, contract.PATHWAY_KEY, shipped())
    assert created and definition.entry_process_id == contract.MAIN_PROCESS


@pytest.mark.parametrize("requirement", REQUIRED, ids=lambda r: f"{r.kind}:{r.name}")
def test_a_pathway_that_renames_a_name_the_python_reads_is_refused_naming_it(requirement: Requirement):
    files = RENAMES[requirement.kind](shipped(), requirement.name)
    assert files != shipped(), "the rename changed the bundle"
    found = refusal(files)
    mine = [(file, message) for file, element, message in found if element == requirement.name]
    assert mine, found
    [(file, message)] = mine
    assert file == requirement.file
    assert f"`{requirement.name}`" in message or f'"{requirement.name}"' in message
    assert message.endswith(f": {requirement.reader}.")


def test_the_screening_step_must_stay_in_the_referrers_lane():
    files = shipped()
    files["referral.bpmn"] = files["referral.bpmn"].replace('name="Referrer"', 'name="Hub practitioner"')
    [screening] = [r for r in REQUIRED if r.name == contract.SCREENING_STEP]
    assert ("referral.bpmn", "screen", f"The user task `screen` must be in the Referrer lane: {screening.reader}.") \
        in refusal(files)


def test_a_refusal_reads_as_a_plain_sentence():
    files = rename_element(shipped(), contract.PLAN_STEP)
    assert ("plan_circulation.bpmn", "share_plan",
            "The pathway needs a user task `share_plan` in a diagram (plan_circulation.bpmn as shipped): the MACE 1 "
            "agenda reads it to show whether a case's plan is ready by the plan deadline.") in refusal(files)
    files = rename_field(shipped(), contract.PLAN_FIELD)
    assert ("ric_plan.schema.json", "actions",
            "ric_plan.schema.json needs the field `actions`: the case page shows the plan's actions from it.") \
        in refusal(files)


def test_the_pathway_is_held_to_it_under_any_key_and_other_bundles_are_not_even_under_its_key():
    renamed = rename_element(shipped(), contract.PLAN_STEP)
    assert any(element == contract.PLAN_STEP for _, element, _ in refusal(renamed, key="trial")), \
        "it holds the main process: it is the pathway"
    without_main = rename_element(shipped(), contract.MAIN_PROCESS)
    assert any(element == contract.MAIN_PROCESS for _, element, _ in refusal(without_main, key="trial")), \
        "it keeps timescales.json: still the pathway"
    for name in ("screening", "loop", "staged", "quick_followup"):
        for key in (name, contract.PATHWAY_KEY):
            definition, _ = repository.deploy(None, key, bundle(name))
            assert definition.key == key, "a small bundle is not the pathway, whatever its key"


def test_the_process_owners_guide_lists_every_name_the_python_reads():
    """bpmn/README.md's table is the contract as REQUIRED holds it, row for row, so the guide cannot drift."""
    guide = (ROOT / "bpmn" / "README.md").read_text(encoding="utf-8")
    section = guide.split("### The contract", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines()[1:] if line.startswith("| ")][2:]  # below the table's heading
    expected = []
    for r in REQUIRED:
        kind = r.kind + (f", in the {ROLES[r.role]} lane" if r.role else "")
        expected.append(f"| {kind} | `{r.name}` | `{r.file}` | {r.reader[:1].upper() + r.reader[1:]} |")
    assert rows == expected


def test_each_requirement_is_where_it_says_in_the_shipped_bundle():
    files = shipped()
    for requirement in REQUIRED:
        # A field of repeating rows (`actions.*.agency`) is named by its last part in its file.
        assert requirement.name.rsplit(".", 1)[-1] in files[requirement.file], requirement
