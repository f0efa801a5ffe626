"""Workflow state to and from JSON, without the spec: specs come from the per-version cache instead."""

from __future__ import annotations

import json

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from processes.engine.bundle import ParsedBundle


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Stock Spiff serialization repeats the whole spec in every save; we store the task state alone."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = StateOnlyWorkflowConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def new_workflow(parsed: ParsedBundle, process_id: str) -> BpmnWorkflow:
    return BpmnWorkflow(parsed.specs[process_id], parsed.subprocess_specs[process_id],
                        script_engine=parsed.script_engine)


def dump(workflow: BpmnWorkflow) -> str:
    return _serializer.serialize_json(workflow)


def load(state: str, parsed: ParsedBundle, process_id: str) -> BpmnWorkflow:
    dct = json.loads(state)
    _serializer.migrate(dct)
    # Spiff's registry passes objects it does not recognise through untouched, so cached spec
    # objects can stand in for the serialized specs it would otherwise rebuild on every load.
    dct["spec"] = parsed.specs[process_id]
    dct["subprocess_specs"] = parsed.subprocess_specs[process_id]
    workflow = _serializer.from_dict(dct)
    workflow.script_engine = parsed.script_engine
    return workflow
