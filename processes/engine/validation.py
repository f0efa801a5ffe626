"""Checks a bundle before deploy and reports each problem with its file, element id and a plain sentence."""

from __future__ import annotations

import json
from collections.abc import Iterator

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from processes.engine import bundle as bundles
from processes.engine.bundle import ParsedBundle, UnsafeXml
from processes.engine.errors import Problem
from processes.engine.hooks import HOOKS, Deployable
from processes.engine.scripting import RestrictedEnvironment, ScriptRejected, compile_expression, compile_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
_DRAWN = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "sequenceFlow",
}


def validate(files: dict[str, str], key: str) -> tuple[list[Problem], ParsedBundle | None]:
    """Every problem in the bundle, and the parsed bundle when there are none."""
    problems = list(_check_files(files))
    if problems:
        return problems, None
    try:
        parsed = bundles.build(files, key)
    except ValidationException as exc:
        return [Problem(exc.file_name or "?", exc.id or None, _plain(exc))], None
    except SpiffWorkflowException as exc:
        return [Problem("?", None, _plain(exc))], None
    problems = [p for name, text in files.items() if bundles.is_bpmn(name) for p in _check_diagram(name, text)]
    if not parsed.specs:
        problems.append(Problem(", ".join(sorted(n for n in files if bundles.is_bpmn(n))) or "(none)", None,
                                'No executable process: mark one process isExecutable="true".'))
    elif parsed.entry_process_id is None:
        problems.append(Problem("(bundle)", None,
                                f"Cannot tell which process starts a case: give it the id '{key}'."))
    for spec in parsed.all_specs():
        problems.extend(_check_spec(spec, parsed))
    deployable = Deployable(key, files, parsed)
    for check in HOOKS.deploy_checks:
        problems.extend(check(deployable))
    return problems, (None if problems else parsed)


_EXPRESSIONS = {"conditionExpression", "timeDate", "timeDuration", "timeCycle", "script"}


def expressions(root) -> Iterator[tuple[str | None, str, str]]:
    """(element id, source, mode) of every script and expression of a diagram: not its documentation."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if name in _EXPRESSIONS and element.text:
            yield _owner_id(element), element.text, "exec" if name == "script" else "eval"
        elif name == "property" and element.get("name") == bundles.DUE_PROPERTY and element.get("value"):
            yield _owner_id(element), element.get("value"), "eval"


def _owner_id(element) -> str | None:
    """The id of the BPMN element an expression belongs to (its nearest ancestor with an id)."""
    while element is not None and not element.get("id"):
        element = element.getparent()
    return element.get("id") if element is not None else None


def _plain(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def _check_files(files: dict[str, str]) -> Iterator[Problem]:
    if not any(bundles.is_bpmn(n) for n in files):
        yield Problem("(bundle)", None, "The bundle has no .bpmn file.")
    for name, text in sorted(files.items()):
        if bundles.is_bpmn(name) or bundles.is_dmn(name):
            try:
                bundles.parse_xml(text)
            except UnsafeXml as exc:
                yield Problem(name, None, f"The file {exc}.")
            except etree.XMLSyntaxError as exc:
                yield Problem(name, None, f"The XML does not parse: {exc.msg} (line {exc.lineno}).")
        elif (extension := HOOKS.extension_for(name)) is not None:
            yield from (Problem(name, None, sentence) for sentence in extension.check(text))
        elif bundles.is_ui_schema(name):
            yield from _check_ui_schema(name, text, files)
        elif bundles.is_form(name):
            yield from _check_form(name, text)
        else:
            yield Problem(name, None, "Unknown file type: a bundle holds .bpmn, .dmn and .json form files.")


def _check_form(name: str, text: str) -> Iterator[Problem]:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Problem(name, None, f"The form is not valid JSON: {exc.msg} (line {exc.lineno}).")
        return
    if not isinstance(schema, dict):
        yield Problem(name, None, "The form must be a JSON Schema object.")
        return
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top level)"
        yield Problem(name, None, f"The form is not a valid JSON Schema at {where}: {exc.message}")


def _check_ui_schema(name: str, text: str, files: dict[str, str]) -> Iterator[Problem]:
    """UI hints must be an object beside their form, naming only fields the form has."""
    try:
        hints = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Problem(name, None, f"The UI hints are not valid JSON: {exc.msg} (line {exc.lineno}).")
        return
    form = next((f for f in files if bundles.is_form(f) and bundles.ui_schema_name(f) == name), None)
    if not isinstance(hints, dict):
        yield Problem(name, None, "The UI hints must be a JSON object.")
    elif form is None:
        stem = name.removesuffix(bundles.UI_SUFFIX)
        yield Problem(name, None, f"No form for these UI hints: add {stem}.schema.json.")
    else:
        try:
            fields = set(json.loads(files[form]).get("properties", {}))
        except (json.JSONDecodeError, AttributeError):
            return  # the form's own check reports it
        named = [k for k in hints if not k.startswith("ui:")] + list(hints.get("ui:order", []))
        for field in dict.fromkeys(named):
            if field not in fields and field != "*":
                yield Problem(name, None, f"The UI hints name the field '{field}', which {form} does not have.")


def _check_diagram(name: str, text: str) -> Iterator[Problem]:
    """Every drawable element of an executable process needs a shape or edge, or a modeller cannot draw it."""
    root = bundles.parse_xml(text).getroot()
    drawn = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge")}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("isExecutable", "true") != "true":
            continue
        elements = [el.get("id") for el in process.iter() if etree.QName(el).localname in _DRAWN]
        missing = [el for el in elements if el not in drawn]
        if elements and len(missing) == len(elements):
            yield Problem(name, process.get("id"), "The process has no diagram (BPMN DI), so a modeller could "
                                                    "not draw it; save it from a BPMN modeller.")
        else:
            for element_id in missing:
                yield Problem(name, element_id, "The element has no shape in the diagram (BPMN DI).")


def _check_spec(spec, parsed: ParsedBundle) -> Iterator[Problem]:
    file = spec.file
    for task_spec in spec.task_specs.values():
        element = task_spec.bpmn_id
        if element is None:
            continue
        props = task_spec.extensions.get("properties", {}) if hasattr(task_spec, "extensions") else {}
        if isinstance(task_spec, UserTask):
            yield from _check_user_task(file, element, task_spec, props, parsed)
        if isinstance(task_spec, ScriptTask):
            yield from _compiles(file, element, task_spec.script, "script", compile_script)
        for attr in ("prescript", "postscript"):
            if getattr(task_spec, attr, None):
                yield from _compiles(file, element, getattr(task_spec, attr), attr, compile_script)
        if isinstance(task_spec, ExclusiveGateway | InclusiveGateway):
            for condition, _target in task_spec.cond_task_specs:
                if condition is not None:
                    yield from _compiles(file, element, condition.args[0], "condition", compile_expression)
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            yield from _check_timer(file, element, definition)
        target = props.get(bundles.CONTINUE_PROPERTY)
        if target is not None and target not in parsed.specs:
            yield Problem(file, element, f"continue_as_new names the process '{target}', "
                                         "which is not an executable process in this bundle.")


def _check_user_task(file, element, task_spec, props, parsed: ParsedBundle) -> Iterator[Problem]:
    if task_spec.lane is None:
        yield Problem(file, element, "The user task is in no lane: put it in the lane of the role that does it.")
    elif HOOKS.lane_role(task_spec.lane) is None:
        yield Problem(file, element, f"The lane '{task_spec.lane}' is not a known role.")
    form = props.get(bundles.FORM_PROPERTY)
    if not form:
        yield Problem(file, element, f"The user task has no form: set the property {bundles.FORM_PROPERTY}.")
    elif form not in parsed.forms:
        yield Problem(file, element, f"The form file '{form}' is not in the bundle.")
    ui = props.get(bundles.UI_PROPERTY)
    if ui and ui not in parsed.ui_schemas:
        yield Problem(file, element, f"The UI hints file '{ui}' is not in the bundle.")
    elif ui and form and ui != bundles.ui_schema_name(form):
        yield Problem(file, element, f"The UI hints of '{form}' must be named '{bundles.ui_schema_name(form)}'.")
    if props.get(bundles.DUE_PROPERTY):
        yield from _compiles(file, element, props[bundles.DUE_PROPERTY], "due_in expression", compile_expression)
    escalate = props.get(bundles.ESCALATE_PROPERTY)
    if escalate is not None and escalate not in ("true", "false"):
        yield Problem(file, element, f"The property {bundles.ESCALATE_PROPERTY} must be 'true' or 'false', "
                                     f"not '{escalate}'.")
    elif escalate == "true" and not props.get(bundles.DUE_PROPERTY):
        yield Problem(file, element, f"The user task escalates but has no due time: set the property "
                                     f"{bundles.DUE_PROPERTY}.")


def _compiles(file, element, source, what, compiler) -> Iterator[Problem]:
    try:
        compiler(source)
    except (ScriptRejected, SyntaxError) as exc:
        yield Problem(file, element, f"The {what} does not compile: {exc}")


_TIMER_PARSERS = {
    TimeDateEventDefinition: TimerEventDefinition.parse_time_or_duration,
    DurationTimerEventDefinition: TimerEventDefinition.parse_iso_duration,
    CycleTimerEventDefinition: TimerEventDefinition.parse_iso_recurring_interval,
}


def _check_timer(file, element, definition) -> Iterator[Problem]:
    problems = list(_compiles(file, element, definition.expression, "timer expression", compile_expression))
    if problems:
        yield from problems
        return
    try:
        value = RestrictedEnvironment().evaluate(definition.expression, {})
    except NameError:
        return  # depends on case data; checked when the timer starts
    except Exception as exc:
        yield Problem(file, element, f"The timer expression fails: {exc}")
        return
    parse = _TIMER_PARSERS.get(type(definition), TimerEventDefinition.parse_time_or_duration)
    try:
        parse(value) if isinstance(value, str) else None
        if not isinstance(value, str):
            raise ValueError(type(value).__name__)
    except Exception:
        yield Problem(file, element, f"The timer expression gives {value!r}, which is not an ISO 8601 "
                                     "date, duration or cycle (e.g. \"PT72H\", \"P1D\", \"R3/PT1H\").")
