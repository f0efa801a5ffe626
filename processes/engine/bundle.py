"""Parsing a bundle of BPMN, DMN and form files into SpiffWorkflow specs, safely and once per version."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from processes.engine.hooks import HOOKS
from processes.engine.scripting import SCRIPT_ENGINE, make_script_engine

FORM_PROPERTY = "formJsonSchemaFilename"
UI_PROPERTY = "formUiSchemaFilename"
DUE_PROPERTY = "due_in"
CONTINUE_PROPERTY = "continue_as_new"
UI_SUFFIX = ".uischema.json"
ESCALATE_PROPERTY = "escalate"  # "true": once overdue long enough, the MACE chairs are told
CASE_AREA = "case_area"  # set by the engine in every instance's data: the area of its case

# Given to `build` to carry on past a file or process SpiffWorkflow refuses: told its file (when known) and error.
Tolerate = Callable[[str | None, Exception], None]


class UnsafeXml(ValueError):
    """XML that declares a DOCTYPE; BPMN never needs one and entities are an attack surface."""


# Entities are never resolved, no network is touched and DTDs are never loaded, so neither
# external entities (XXE) nor entity expansion ("billion laughs") can do anything.
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=False,
)


def parse_xml(content: str | bytes) -> etree._ElementTree:
    """Parse untrusted XML; raises etree.XMLSyntaxError or UnsafeXml."""
    data = content.encode() if isinstance(content, str) else content
    if re.search(rb"<!DOCTYPE|<!ENTITY", data, re.IGNORECASE):
        raise UnsafeXml("declares a DOCTYPE or ENTITY, which is not allowed in BPMN or DMN files")
    root = etree.fromstring(data, parser=_XML_PARSER)
    tree = etree.ElementTree(root)
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXml("declares a DOCTYPE or ENTITY, which is not allowed in BPMN or DMN files")
    return tree


@dataclass
class ParsedBundle:
    """The specs of every executable process of a bundle, with its forms."""

    specs: dict[str, BpmnProcessSpec]
    subprocess_specs: dict[str, dict[str, BpmnProcessSpec]]
    forms: dict[str, dict[str, Any]]
    ui_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    entry_process_id: str | None = None
    message_starts: dict[str, str] = field(default_factory=dict)
    # Each registered extension's configuration of this version, by file name (a pathway's timescales, say).
    configs: dict[str, Any] = field(default_factory=dict)
    # Bound to this version's configuration, so due dates and bookings follow the version an instance runs.
    script_engine: PythonScriptEngine = SCRIPT_ENGINE
    # Variables the diagrams set for themselves (in scripts and as decision outputs): no caller may supply
    # them, or a start could skip the front door by naming where its cycle begins.
    computed: frozenset[str] = frozenset()
    # The item variable of each step run once per item: it belongs to that run, not to the next cycle.
    loop_items: frozenset[str] = frozenset()

    def _computed_names(self) -> frozenset[str]:
        names: set[str] = set()
        for spec in self.all_specs():
            for task_spec in spec.task_specs.values():
                for source in (getattr(task_spec, "script", None), getattr(task_spec, "prescript", None),
                               getattr(task_spec, "postscript", None)):
                    if source:
                        names |= assigned(source)
                if isinstance(task_spec, BusinessRuleTaskMixin):
                    names |= {o.name for o in task_spec.dmnEngine.decision_table.outputs}
        return frozenset(names)

    def all_specs(self) -> list[BpmnProcessSpec]:
        seen: dict[str, BpmnProcessSpec] = dict(self.specs)
        for subs in self.subprocess_specs.values():
            seen.update(subs)
        return list(seen.values())


def assigned(script: str) -> set[str]:
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return set()  # validation reports the script as not compiling
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def is_bpmn(name: str) -> bool:
    return name.endswith(".bpmn")


def is_dmn(name: str) -> bool:
    return name.endswith(".dmn")


def is_ui_schema(name: str) -> bool:
    """UI hints for a form (field order, widgets, help text), in react-jsonschema-form's uiSchema format."""
    return name.endswith(UI_SUFFIX)


def is_configuration(name: str) -> bool:
    """A file a registered bundle extension reads (the pathway's `timescales.json`, say), not a form."""
    return HOOKS.extension_for(name) is not None


def is_form(name: str) -> bool:
    return name.endswith(".json") and not is_ui_schema(name) and not is_configuration(name)


def ui_schema_name(form: str) -> str:
    """`screening.schema.json` keeps its UI hints in `screening.uischema.json`, as SpiffArena names them."""
    return form.removesuffix(".json").removesuffix(".schema") + UI_SUFFIX


def start_message_names(spec: BpmnProcessSpec) -> list[str]:
    """Message names that start this process; empty for a process with a plain start event."""
    names = []
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and not isinstance(task_spec.event_definition, NoneEventDefinition):
            names.append(getattr(task_spec.event_definition, "name", ""))
    return names


def called_process_ids(spec: BpmnProcessSpec) -> set[str]:
    return {ts.spec for ts in spec.task_specs.values() if isinstance(ts, CallActivity)}


T = TypeVar("T")


def _step(tolerate: Tolerate | None, file: str | None, step: Callable[[], T]) -> T | None:
    if tolerate is None:
        return step()
    try:
        return step()
    except Exception as exc:  # SpiffWorkflow's parser raises many kinds; validation words each
        tolerate(file, exc)
        return None


def build(files: dict[str, str], key: str, tolerate: Tolerate | None = None) -> ParsedBundle:
    """Parse a bundle already known to be well-formed; raises Spiff's ValidationException on bad specs.

    With `tolerate`, a file or process the parser refuses is reported to it and left out, and the rest is
    parsed still, so that validation can check everything else in the same pass.
    """
    parser = SpiffBpmnParser()
    for name in sorted(files):
        if is_bpmn(name):
            _step(tolerate, name, lambda name=name: parser.add_bpmn_xml(parse_xml(files[name]), filename=name))
        elif is_dmn(name):
            _step(tolerate, name,
                  lambda name=name: parser.add_dmn_xml(parse_xml(files[name]).getroot(), filename=name))
    executable = [pid for pid, pp in parser.process_parsers.items() if pp.process_executable]
    specs, subprocess_specs = {}, {}
    for pid in executable:
        file = parser.process_parsers[pid].filename
        spec = _step(tolerate, file, lambda pid=pid: (parser.get_spec(pid), parser.get_subprocess_specs(pid)))
        if spec is not None:
            specs[pid], subprocess_specs[pid] = spec
    executable = list(specs)
    forms = {name: json.loads(text) for name, text in files.items() if is_form(name)}
    ui_schemas = {name: json.loads(text) for name, text in files.items() if is_ui_schema(name)}
    bundle = ParsedBundle(specs=specs, subprocess_specs=subprocess_specs, forms=forms, ui_schemas=ui_schemas)
    bundle.loop_items = frozenset(
        ts.input_item.bpmn_id for spec in bundle.all_specs() for ts in spec.task_specs.values()
        if isinstance(ts, MultiInstanceTask) and ts.input_item is not None)
    bundle.computed = bundle._computed_names() | bundle.loop_items
    functions: dict[str, Any] = {}
    for extension in HOOKS.extensions:
        if extension.file_name in files:
            text = files[extension.file_name]
            config = _step(tolerate, extension.file_name, lambda ext=extension, text=text: ext.parse(text))
            if config is not None:
                bundle.configs[extension.file_name] = config
                functions.update(extension.functions(config))
    if functions:
        bundle.script_engine = make_script_engine(functions)
    called = set().union(*(called_process_ids(s) for s in bundle.all_specs())) if specs else set()
    top_level = [pid for pid in executable if pid not in called]
    plain = [pid for pid in top_level if not start_message_names(specs[pid])]
    bundle.entry_process_id = key if key in plain else (plain[0] if len(plain) == 1 else None)
    for pid in top_level:
        for message in start_message_names(specs[pid]):
            bundle.message_starts[message] = pid
    return bundle


_parsed: dict[tuple[str, str], ParsedBundle] = {}


def for_definition(definition) -> ParsedBundle:
    """The parsed bundle of a deployed definition, parsed once per process: deployed content never changes."""
    cache_key = (definition.key, definition.content_hash)
    if cache_key not in _parsed:
        _parsed[cache_key] = build(definition.files, definition.key)
    return _parsed[cache_key]
