"""Checks a bundle before deploy and reports each problem with its file, element, the element's name and a
plain sentence saying what to do; every problem of the bundle comes in one pass, and nothing raises."""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from processes.engine import bundle as bundles
from processes.engine import forms, scripting
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

# What this engine cannot run, and what to draw instead. Each kind is listed in README.md's validation section.
REFUSED_ELEMENTS = {
    "task": "A plain task has no one to do it and nothing to run: draw a user task (in a role's lane, with a "
            "form) for people's work, or a script task for the engine's.",
    "manualTask": "A manual task has no form and no one to do it here: draw a user task in the lane of the "
                  "role that does the work.",
    "serviceTask": "This engine calls no services: draw a script task, or a user task for the person who "
                   "makes the call.",
    "sendTask": "Nothing outside the instance receives what a send task sends: draw a user task or a script "
                "task, and deliver messages to cases through the API.",
    "receiveTask": "Draw an intermediate message catch event instead of a receive task: it waits for the "
                   "message the API delivers to the case.",
    "transaction": "Transactions (and cancel events) are not run by this engine: draw a plain sub-process.",
    "adHocSubProcess": "Ad hoc sub-processes are not run by this engine: draw a sub-process with a gateway.",
    "complexGateway": "Complex gateways are not run by this engine: draw an inclusive or exclusive gateway.",
    "standardLoopCharacteristics": "Standard loops are not run by this engine: draw a gateway that flows back, "
                                   "or a multi-instance marker.",
}
REFUSED_EVENTS = {
    "signalEventDefinition": "Nothing can send a signal to a case: draw a message event instead.",
    "conditionalEventDefinition": "Conditional events are not run by this engine: draw an exclusive gateway "
                                  "on the condition.",
    "compensateEventDefinition": "Compensation is not run by this engine: draw the undoing steps as a flow.",
    "cancelEventDefinition": "Cancel events (and transactions) are not run by this engine: draw an error "
                             "end event and an error boundary event.",
    "linkEventDefinition": "Link events are not run by this engine: draw the sequence flow itself.",
}
THROWN_MESSAGE = ("Nothing outside the instance receives a message it sends: end with a none end event, and "
                  "deliver messages to cases through the API.")
REFUSED_NAME = ("The {what} uses '{name}', which no earlier step sets and no function offers: if it is text, "
                "put it in quotes (\"{name}\"); otherwise set it in an earlier step (a script, a form field, "
                "a decision output) or correct its spelling.")
NOT_PYTHON = "The {what} does not compile as Python ({detail}): {hint}"
_HINTS = {
    "exec": "write it as Python statements, e.g. ric_requested = decision == \"allocate\".",
    "eval": "write it as one Python expression, e.g. decision == \"allocate\" or \"P14D\" (with quotes).",
}


@dataclass
class _Bundle:
    """What validation knows of the bundle as it goes: each well-formed XML file, and where each id is."""

    files: dict[str, str]
    trees: dict[str, etree._Element] = field(default_factory=dict)
    names: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (file, id) -> the element's name
    homes: dict[str, str] = field(default_factory=dict)  # id -> the file that holds it
    broken: set[str] = field(default_factory=set)  # files found unfit to parse: left out of SpiffWorkflow's parse

    def add(self, file: str, root: etree._Element) -> None:
        self.trees[file] = root
        for element in root.iter():
            if isinstance(element.tag, str) and element.get("id"):
                name = element.get("name") or element.get("label")
                self.names[(file, element.get("id"))] = name.strip() if name else None
                self.homes.setdefault(element.get("id"), file)

    def located(self, problem: Problem) -> Problem:
        """The problem with its file and the element's name filled in from the files themselves."""
        file = problem.file
        if (not file or file == "?") and problem.element_id in self.homes:
            file = self.homes[problem.element_id]
        name = problem.element_name or self.names.get((file, problem.element_id or ""))
        return Problem(file or "(bundle)", problem.element_id or None, _plain(problem.message), name)

    def bpmn(self) -> Iterator[tuple[str, etree._Element]]:
        return ((n, r) for n, r in sorted(self.trees.items()) if bundles.is_bpmn(n))

    def dmn(self) -> Iterator[tuple[str, etree._Element]]:
        return ((n, r) for n, r in sorted(self.trees.items()) if bundles.is_dmn(n))


def validate(files: dict[str, str], key: str) -> tuple[list[Problem], ParsedBundle | None]:
    """Every problem in the bundle, and the parsed bundle when there are none. It never raises: whatever a
    file makes a parser or a check raise is reported as a problem of that file."""
    known = _Bundle(files)
    problems = _guarded("(bundle)", lambda: list(_check_files(files, known)))
    for name, root in [*known.bpmn(), *known.dmn()]:
        check = _check_bpmn if bundles.is_bpmn(name) else _check_dmn
        problems += _guarded(name, lambda name=name, root=root, check=check: list(check(name, root, known)))
    problems += _guarded("(bundle)", lambda: list(_check_expressions(known)))
    parsed = None
    if any(bundles.is_bpmn(n) for n in known.trees):
        parsed, parse_problems = _parse(known, key)
        # SpiffWorkflow's word on an element the product's own checks already refused adds nothing.
        placed = {(p.file, p.element_id) for p in problems}
        problems += [p for p in parse_problems
                     if not (p.message.startswith(SPIFF_REFUSED) and (p.file, p.element_id) in placed)]
    unique = list(dict.fromkeys(known.located(p) for p in problems))
    return unique, (None if unique else parsed)


def _guarded(file: str, check: Callable[[], list[Problem]]) -> list[Problem]:
    """A check that fails on a file it did not expect reports that, rather than answering 500."""
    try:
        return check()
    except Exception as exc:  # the last line of defence: deploy never answers 500
        return [Problem(file, None, f"The file could not be checked ({type(exc).__name__}): save it again "
                                    "from a BPMN or DMN modeller and check it is complete.")]


def _parse(known: _Bundle, key: str) -> tuple[ParsedBundle | None, list[Problem]]:
    """SpiffWorkflow's own parse of the well-formed files, each refusal worded as a problem of its file; then
    the checks that need the parsed processes, and the pathway's deploy checks."""
    problems: list[Problem] = []
    well_formed = {n: t for n, t in known.files.items() if n not in known.broken and _readable(n, t, known)}
    try:
        parsed = bundles.build(well_formed, key, tolerate=lambda file, exc: problems.append(_from_spiff(file, exc)))
    except Exception as exc:  # see _guarded
        return None, [_from_spiff(None, exc)]
    problems += _entry_problems(known, parsed, key)
    # A form left out because it is refused itself is still there for the tasks that name it.
    for name in known.files.keys() - well_formed.keys():
        (parsed.ui_schemas if bundles.is_ui_schema(name) else parsed.forms).setdefault(name, {})
    for spec in parsed.all_specs():
        problems += _guarded(spec.file or "(bundle)", lambda spec=spec: list(_check_spec(spec, parsed)))
    if _unreadable(known):
        return parsed, problems  # the pathway's checks read its configuration, which is refused already
    deployable = Deployable(key, well_formed, parsed)
    for check in HOOKS.deploy_checks:
        problems += _guarded("(bundle)", lambda check=check: list(check(deployable)))
    return parsed, problems


def _readable(name: str, text: str, known: _Bundle) -> bool:
    """Whether SpiffWorkflow's parse may be given the file: well-formed XML, JSON that loads, configuration its
    extension accepts. The others are already reported."""
    if bundles.is_bpmn(name) or bundles.is_dmn(name):
        return name in known.trees
    if (extension := HOOKS.extension_for(name)) is not None:
        return not extension.check(text)
    try:
        return isinstance(json.loads(text), dict)
    except (json.JSONDecodeError, TypeError):
        return False


def _entry_problems(known: _Bundle, parsed: ParsedBundle, key: str) -> Iterator[Problem]:
    processes = [(n, p) for n, root in known.bpmn() for p in root.iter(f"{{{BPMN_NS}}}process")]
    if not processes:
        return
    if not any(p.get("isExecutable", "true") == "true" for _, p in processes):
        for name, process in processes:
            yield Problem(name, process.get("id"), 'No process of the bundle is executable: mark the one that '
                                                   'starts a case isExecutable="true" (the modeller\'s '
                                                   '"Executable" box).')
    elif parsed.specs and parsed.entry_process_id is None:
        called = set().union(*(bundles.called_process_ids(s) for s in parsed.all_specs()))
        plain = [pid for pid, spec in parsed.specs.items()
                 if pid not in called and not bundles.start_message_names(spec)]
        for pid in plain:
            yield Problem(known.homes.get(pid, "(bundle)"), pid,
                          f"{len(plain)} processes could each start a case ({', '.join(sorted(plain))}): give "
                          f"the one that does the id '{key}', the bundle's key.")
        if not plain:
            first = next(iter(parsed.specs))
            yield Problem(known.homes.get(first, "(bundle)"), first,
                          "No process starts a case on its own (each is called by another, or waits for a "
                          "message): give the process that starts a case a plain start event.")


SPIFF_REFUSED = "SpiffWorkflow could not read"
_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_XML = re.compile(r"b?['\"]?<[^<>]*>(?:[^<>]*<[^<>]*>)*['\"]?", re.DOTALL)


def _plain(message: str) -> str:
    """A message fit to show a process owner: whole, on one line, without reprs, addresses or raw XML."""
    text = _ELEMENT_REPR.sub(lambda m: f"the {m.group(1)} element", message)
    text = _ADDRESS.sub("", text)
    text = _XML.sub("the element", text)
    return " ".join(text.split())


def _from_spiff(file: str | None, exc: Exception) -> Problem:
    """SpiffWorkflow's refusal, in the product's words, with the file and element it names."""
    if isinstance(exc, ValidationException):
        element = exc.id or None
        message = str(exc)
        if "was not found" in message and "process" in message.lower():
            message = ("A call activity calls a process no file of the bundle holds: add its .bpmn file, or "
                       "choose a process the bundle has.")
        elif "No DMN Diagram available" in message:
            message = ("A business rule task calls a decision no .dmn file of the bundle holds: add the "
                       "file, or choose a decision the bundle has.")
        else:
            message = f"{SPIFF_REFUSED} the {exc.tag or 'file'}: {message.strip().rstrip('.')}."
        return Problem(exc.file_name or file or "(bundle)", element, message)
    return Problem(getattr(exc, "file_name", None) or file or "(bundle)", getattr(exc, "id", None) or None,
                   f"{SPIFF_REFUSED} the file ({type(exc).__name__}): save it again from a BPMN "
                   "modeller; if it still fails, redraw the elements this engine does not support.")


def expressions(root) -> Iterator[tuple[str | None, str, str]]:
    """(element id, source, mode) of every script and expression of a diagram: not its documentation."""
    for element_id, source, mode, _what in _sources(root):
        yield element_id, source, mode


_EXPRESSIONS = {
    "conditionExpression": ("eval", "condition"), "timeDate": ("eval", "timer expression"),
    "timeDuration": ("eval", "timer expression"), "timeCycle": ("eval", "timer expression"),
    "script": ("exec", "script"), "preScript": ("exec", "pre-script"), "postScript": ("exec", "post-script"),
    "loopCardinality": ("eval", "loop cardinality"), "completionCondition": ("eval", "completion condition"),
}


def _sources(root) -> Iterator[tuple[str | None, str, str, str]]:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if name in _EXPRESSIONS and element.text and element.text.strip():
            mode, what = _EXPRESSIONS[name]
            yield _owner_id(element), element.text, mode, what
        elif name == "property" and element.get("name") == bundles.DUE_PROPERTY and element.get("value"):
            yield _owner_id(element), element.get("value"), "eval", "due_in expression"


def _owner_id(element) -> str | None:
    """The id of the BPMN element an expression belongs to (its nearest ancestor with an id)."""
    while element is not None and (not element.get("id") or _local(element).endswith("EventDefinition")):
        element = element.getparent()
    return element.get("id") if element is not None else None


def _check_files(files: dict[str, str], known: _Bundle) -> Iterator[Problem]:
    if not any(bundles.is_bpmn(n) for n in files):
        yield Problem("(bundle)", None, "The bundle has no .bpmn file: add the diagram of the pathway.")
    for name, text in sorted(files.items()):
        if bundles.is_bpmn(name) or bundles.is_dmn(name):
            try:
                known.add(name, bundles.parse_xml(text).getroot())
            except UnsafeXml as exc:
                yield Problem(name, None, f"The file {exc}: save it again without the DOCTYPE.")
            except etree.XMLSyntaxError as exc:
                yield Problem(name, None, f"The XML does not parse: {exc.msg} (line {exc.lineno}). Save the file "
                                          "again from the modeller.")
            except ValueError as exc:
                yield Problem(name, None, f"The XML does not parse ({type(exc).__name__}). Save the file again "
                                          "from the modeller.")
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
        return
    for field_name, prop in schema.get("properties", {}).items():
        spec = prop.get(forms.OPTIONS) if isinstance(prop, dict) else None
        if spec is not None and forms.options_provider(spec) not in HOOKS.form_options:
            yield Problem(name, None, f"The field '{field_name}' takes its choices from '{spec}', but no provider "
                                      f"of that name is registered. Known: {', '.join(HOOKS.form_options) or 'none'}.")
    yield from _check_date_rules(name, schema)


def _check_date_rules(name: str, schema: dict) -> Iterator[Problem]:
    """`x-date` is `past` or `future`, and only on a date or date-time field: the server checks it on submit."""
    for path, prop in forms.date_rule_fields(schema):
        rule, allowed = prop[forms.DATE_RULE], " or ".join(f'"{r}"' for r in forms.DATE_RULES)
        if rule not in forms.DATE_RULES:
            yield Problem(name, path, f'The field \'{path}\' has "{forms.DATE_RULE}": {json.dumps(rule)}; '
                                      f"use {allowed}.")
        elif prop.get("format") not in ("date", "date-time"):
            yield Problem(name, path, f'The field \'{path}\' has "{forms.DATE_RULE}" but is not a date: give it '
                                      '"format": "date" or "date-time", or remove the rule.')


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
        # A field asked only for one answer of another (`ui:revealWhen`) names that other field too.
        revealers = [next(iter(h["ui:revealWhen"]), "") for h in hints.values()
                     if isinstance(h, dict) and isinstance(h.get("ui:revealWhen"), dict) and h["ui:revealWhen"]]
        named = [k for k in hints if not k.startswith("ui:")] + list(hints.get("ui:order", [])) + revealers
        for field in dict.fromkeys(named):
            if field not in fields and field != "*":
                yield Problem(name, None, f"The UI hints name the field '{field}', which {form} does not have.")


def _check_diagram(name: str, root: etree._Element) -> Iterator[Problem]:
    """Every drawable element of an executable process needs a shape or edge, or a modeller cannot draw it."""

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




def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _check_bpmn(name: str, root: etree._Element, known: _Bundle) -> Iterator[Problem]:
    """What this engine cannot run, and references to what the bundle lacks, read from the XML itself so that
    they are reported even when SpiffWorkflow refuses the file."""
    yield from _check_diagram(name, root)
    process_ids = {p.get("id") for _, r in known.bpmn() for p in r.iter(f"{{{BPMN_NS}}}process")}
    decisions = {d.get("id") for _, r in known.dmn() for d in r.iter() if _local(d) == "decision"}
    for element in root.iter():
        kind = _local(element)
        owner = _owner_id(element)
        if kind in REFUSED_ELEMENTS:
            yield Problem(name, owner, REFUSED_ELEMENTS[kind])
        elif kind in REFUSED_EVENTS:
            yield Problem(name, owner, REFUSED_EVENTS[kind])
        elif kind == "messageEventDefinition" and _local(element.getparent()) in ("intermediateThrowEvent",
                                                                               "endEvent"):
            yield Problem(name, owner, THROWN_MESSAGE)
        elif kind == "callActivity" and element.get("calledElement") not in process_ids:
            called = element.get("calledElement")
            yield Problem(name, element.get("id"),
                          f"The call activity calls the process '{called}', which no file of the bundle holds: "
                          "add its .bpmn file, or choose a process the bundle has."
                          if called else "The call activity calls no process: choose the process it calls.")
        elif kind == "businessRuleTask":
            decision = _decision_ref(element)
            if decision not in decisions:
                yield Problem(name, element.get("id"),
                              f"The business rule task calls the decision '{decision}', which no .dmn file of the "
                              "bundle holds: add the file, or choose a decision the bundle has."
                              if decision else "The business rule task calls no decision: choose the DMN "
                                               "decision it evaluates.")


def _decision_ref(element) -> str | None:
    for child in element.iter():
        if _local(child) == "calledDecisionId" and child.text:
            return child.text.strip()
    return next((v for k, v in element.attrib.items() if etree.QName(k).localname == "decisionRef"), None)


def _check_dmn(name: str, root: etree._Element, known: _Bundle) -> Iterator[Problem]:
    """A decision file that does not parse is refused even when no task calls it yet; each problem names the
    file and the decision, rule or column."""
    decisions = [d for d in root.iter() if _local(d) == "decision"]
    found = list(_dmn_problems(name, root, decisions))
    if found:
        known.broken.add(name)
    yield from found


def _dmn_problems(name: str, root: etree._Element, decisions: list) -> Iterator[Problem]:
    if not decisions:
        yield Problem(name, root.get("id"), "The DMN file has no decision: add a decision table.")
        return
    for decision in decisions[1:]:
        yield Problem(name, decision.get("id"), "This engine reads one decision per DMN file: move this decision "
                                                "to a file of its own.")
    decision = decisions[0]
    tables = [t for t in decision if _local(t) == "decisionTable"]
    if not tables:
        yield Problem(name, decision.get("id"), "The decision has no decision table (this engine does not run "
                                                "literal expressions or other decision logic): draw it as a "
                                                "decision table.")
        return
    for column in tables[0]:
        if _local(column) == "output" and not (column.get("name") or "").isidentifier():
            yield Problem(name, column.get("id"), "The output column has no variable name (or it is not a valid "
                                                  "name): give it the name of the variable the decision sets.")
    if not _dmn_namespace(root):
        yield Problem(name, root.get("id"), "The file is not in a DMN namespace this engine reads: save it as "
                                            "DMN 1.2 or 1.3 from a DMN modeller.")
        return
    try:
        parser = BpmnDmnParser()
        parser.add_dmn_xml(root, filename=name)
        for dmn in parser.dmn_parsers.values():
            dmn.parse()
            DMNEngine(dmn.decision.decisionTables[0])
    except Exception as exc:  # SpiffWorkflow's DMN parser raises IndexError, XPathEvalError...
        element = getattr(exc, "id", None) or decision.get("id")
        detail = _plain(str(exc)) if isinstance(exc, ValidationException) else type(exc).__name__
        yield Problem(name, element, f"SpiffWorkflow could not read the decision ({detail}): check each rule "
                                     "has one entry per column, and save the file again from a DMN modeller.")


def _dmn_namespace(root: etree._Element) -> bool:
    """SpiffWorkflow's DMN parser finds elements in the default namespace only, as DMN modellers save them."""
    return root.nsmap.get(None, "").startswith(("http://www.omg.org/spec/DMN/", "https://www.omg.org/spec/DMN/"))


def _check_expressions(known: _Bundle) -> Iterator[Problem]:
    """Every script and expression compiles under the sandbox, and uses only names something gives it."""
    names = _known_names(known)  # None: a form or configuration is unreadable, so the names are not all known
    for name, root in [*known.bpmn(), *known.dmn()]:
        sources = list(_sources(root)) if bundles.is_bpmn(name) else list(_dmn_sources(root))
        for element, source, mode, what in sources:
            yield from _check_source(name, element, source, mode, what, names)


def _unreadable(known: _Bundle) -> bool:
    """A form or configuration that is itself refused: the names it gives are not known, so no name is judged."""
    return any(not _readable(n, t, known) for n, t in known.files.items()
               if bundles.is_form(n) or HOOKS.extension_for(n) is not None)


def _dmn_sources(root: etree._Element) -> Iterator[tuple[str | None, str, str, str]]:
    for element in root.iter():
        if _local(element) == "inputExpression":
            text = next((t.text for t in element if _local(t) == "text" and t.text and t.text.strip()), None)
            if text:
                yield _owner_id(element.getparent()), text, "eval", "input expression"


def _check_source(file: str, element: str | None, source: str, mode: str, what: str, names: set[str] | None
                  ) -> Iterator[Problem]:
    try:
        (compile_script if mode == "exec" else compile_expression)(source)
        tree = ast.parse(source if mode == "exec" else source.strip(), mode=mode)
    except (ScriptRejected, SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = _plain(exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__)
        yield Problem(file, element, NOT_PYTHON.format(what=what, detail=detail.removeprefix("Line 1: "),
                                                      hint=_HINTS[mode]))
        return
    for name in sorted(_free_names(tree) - names) if names is not None else ():
        yield Problem(file, element, REFUSED_NAME.format(what=what, name=name))


def _free_names(tree: ast.AST) -> set[str]:
    """Names the code reads that it does not bind itself (a loop, comprehension or lambda variable, say)."""
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler):
            bound |= {node.name} if node.name else set()
    return read - bound


def _known_names(known: _Bundle) -> set[str] | None:
    """Every name a script or expression of this bundle may read: the sandbox's builtins, the functions the
    registered extensions offer, and every variable something in the bundle sets (a script, a form field, a
    decision output, a message payload, a multi-instance item, a data object, the engine's case_area)."""
    if _unreadable(known):
        return None
    names = set(scripting.SANDBOX_NAMES) | {bundles.CASE_AREA}
    for extension in HOOKS.extensions:
        text = known.files.get(extension.file_name)
        if text is not None and not extension.check(text):
            names |= set(extension.functions(extension.parse(text)))
    for file, text in known.files.items():
        if bundles.is_form(file):
            with contextlib.suppress(json.JSONDecodeError, AttributeError, TypeError):  # reported as not a form
                names |= set(json.loads(text).get("properties", {}))
    for file, root in known.trees.items():
        for element in root.iter():
            kind = _local(element)
            if kind == "output" and bundles.is_dmn(file) and element.get("name"):
                names.add(element.get("name"))
            elif kind in ("dataObject", "dataObjectReference", "dataInput", "dataOutput", "inputDataItem",
                          "outputDataItem", "dataStoreReference"):
                names |= {v for v in (element.get("id"), element.get("name")) if v}
            elif kind in ("loopDataInputRef", "loopDataOutputRef", "messageVariable") and element.text:
                names.add(element.text.strip())
            elif kind in ("script", "preScript", "postScript") and element.text:
                names |= bundles.assigned(element.text)
    return names


def _check_spec(spec, parsed: ParsedBundle) -> Iterator[Problem]:
    file = spec.file
    for task_spec in spec.task_specs.values():
        element = task_spec.bpmn_id
        if element is None:
            continue
        props = task_spec.extensions.get("properties", {}) if hasattr(task_spec, "extensions") else {}
        if isinstance(task_spec, UserTask):
            yield from _check_user_task(file, element, task_spec, props, parsed)
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
    escalate = props.get(bundles.ESCALATE_PROPERTY)
    if escalate is not None and escalate not in ("true", "false"):
        yield Problem(file, element, f"The property {bundles.ESCALATE_PROPERTY} must be 'true' or 'false', "
                                     f"not '{escalate}'.")
    elif escalate == "true" and not props.get(bundles.DUE_PROPERTY):
        yield Problem(file, element, f"The user task escalates but has no due time: set the property "
                                     f"{bundles.DUE_PROPERTY}.")


_TIMER_PARSERS = {
    "TimeDateEventDefinition": TimerEventDefinition.parse_time_or_duration,
    "DurationTimerEventDefinition": TimerEventDefinition.parse_iso_duration,
    "CycleTimerEventDefinition": TimerEventDefinition.parse_iso_recurring_interval,
}


def _check_timer(file, element, definition) -> Iterator[Problem]:
    """A timer that reads no variable is worked out now, under the same limits as when it runs."""
    try:
        tree = ast.parse(definition.expression.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return  # reported as not compiling
    if _free_names(tree) - scripting.SANDBOX_NAMES:
        return  # depends on case data or a function; worked out when the timer starts
    try:
        value = RestrictedEnvironment().evaluate(definition.expression, {})
    except Exception as exc:  # whatever it raises is the problem to report
        detail = str(exc) if isinstance(exc, scripting.ScriptLimit | ScriptRejected) else type(exc).__name__
        yield Problem(file, element, f"The timer expression fails ({detail}): give an ISO 8601 date, duration "
                                     "or cycle in quotes, e.g. \"P14D\".")
        return
    parse = _TIMER_PARSERS.get(type(definition).__name__, TimerEventDefinition.parse_time_or_duration)
    try:
        if not isinstance(value, str):
            raise TypeError(type(value).__name__)
        parse(value)
    except Exception:  # any failure to read it is the same problem
        shown = repr(value) if isinstance(value, str | int | float) and len(repr(value)) < 80 else "a value"
        yield Problem(file, element, f"The timer expression gives {shown}, which is not an ISO 8601 date, duration "
                                     "or cycle: write one in quotes, e.g. \"PT72H\", \"P1D\" or \"R3/PT1H\".")
