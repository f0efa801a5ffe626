"""Marshmallow schemas for the API's requests and responses."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from app import edges
from processes.engine.clock import aware
from processes.engine.repository import KEY_PATTERN, KEY_RULE


class UtcDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(aware(value), attr, obj, **kwargs)


KEY = validate.Regexp(KEY_PATTERN, error=KEY_RULE)
# Said in the OpenAPI document as a pattern; the API refuses control characters in any text before the schemas run.
NO_CONTROL = validate.Regexp(edges.NO_CONTROL_PATTERN, error=edges.CONTROL_MESSAGE)


def _not_empty(value: dict) -> None:
    if not value:
        raise ValidationError("Give at least one.")


def text(*limits: validate.Validator, **kwargs) -> fields.String:
    """A text field without control characters, and with any other limits given."""
    return fields.String(validate=[*limits, NO_CONTROL], **kwargs)


class ErrorOut(Schema):
    """Every error the API answers: a code to branch on, a sentence for people, and what to correct."""

    code = fields.String(required=True, metadata={"example": "invalid_input",
                                                  "description": "A name such as not_found, forbidden, conflict"})
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Field (dotted path) -> what to correct, for invalid input"})
    problems = fields.List(fields.Dict(), metadata={"description": "For a bundle that cannot be deployed"})
    element_id = fields.String(allow_none=True, metadata={"description": "The diagram element that failed"})
    matches = fields.List(fields.Integer(), metadata={
        "description": "For a possible duplicate referral: the ids of the cases the child may already have"})


class DeployIn(Schema):
    key = fields.String(required=True, validate=KEY)
    # minProperties, not minLength: apispec would document Length on an object as a text's length.
    files = fields.Dict(keys=text(validate.Length(1, 255)), values=text(), required=True, validate=_not_empty,
                        metadata={"minProperties": 1})


class DefinitionOut(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    entry_process_id = fields.String()
    deployed_at = UtcDateTime()
    files = fields.Function(lambda d: sorted(d.files))


class ProblemOut(Schema):
    """One problem of a refused bundle: where it is, and a sentence saying what to do."""

    file = fields.String(metadata={"description": "The bundle's file, or '(bundle)' for the bundle as a whole"})
    element_id = fields.String(allow_none=True, metadata={"description": "The BPMN or DMN element's id"})
    element_name = fields.String(allow_none=True, metadata={"description": "The element's name, if it has one"})
    message = fields.String()


class BundleInvalidOut(Schema):
    code = fields.String(metadata={"example": "bundle_invalid"})
    message = fields.String()
    problems = fields.List(fields.Nested(ProblemOut))


class DefinitionQuery(Schema):
    key = fields.String(validate=KEY)


class CaseIn(Schema):
    area = text(validate.Length(1, 40), required=True)
    child_name = text(validate.Length(1, 200), required=True)
    date_of_birth = fields.Date(allow_none=True, load_default=None)


class CaseOut(Schema):
    id = fields.Integer()
    area = fields.String(attribute="area_code")
    child_name = fields.String()
    date_of_birth = fields.Date(allow_none=True)
    created_at = UtcDateTime()
    allocated_worker_id = fields.Integer(allow_none=True)
    team_id = fields.Integer(allow_none=True)


class WorkerIn(Schema):
    worker = text(validate.Length(min=1, max=80), required=True,
                  metadata={"description": "The username of an allocated worker of the case's area"})


class StartIn(Schema):
    key = fields.String(required=True, validate=KEY)
    data = fields.Dict(load_default=dict)


class InstanceOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    definition_key = fields.Function(lambda i: i.definition.key)
    definition_version = fields.Function(lambda i: i.definition.version)
    process_id = fields.String()
    status = fields.String()
    previous_id = fields.Integer(allow_none=True)
    started_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)


class ReferralIn(Schema):
    """A referral: a known child's case, or a new child (area and name), with the screening form's answers."""

    case_id = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(1, 2**31 - 1),
                             metadata={"description": "A child who has a case; else give area and child_name"})
    area = text(validate.Length(1, 40), allow_none=True, load_default=None)
    child_name = text(validate.Length(1, 200), allow_none=True, load_default=None)
    date_of_birth = fields.Date(allow_none=True, load_default=None)
    screening = fields.Dict(load_default=dict, metadata={"description": "The answers to the screening form"})
    confirm_new_child = fields.Boolean(load_default=False, metadata={
        "description": "The child is not one of the possible matches a 409 named: make a new case anyway"})


class ReferralOut(Schema):
    case = fields.Nested(CaseOut)
    instance = fields.Nested(InstanceOut)
    screening_task_id = fields.Function(lambda r: r.screening.id)


class TaskOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    instance_id = fields.Integer()
    element_id = fields.String()
    name = fields.String()
    role = fields.String()
    area = fields.String(attribute="area_code")
    assignee_id = fields.Integer(allow_none=True)
    status = fields.String()
    created_at = UtcDateTime()
    due_at = UtcDateTime(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    completed_by_id = fields.Integer(allow_none=True)


class TaskDetailOut(TaskOut):
    form_schema = fields.Dict()
    ui_schema = fields.Dict()


class InboxQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))
    mine = fields.Boolean(load_default=False)


class InboxOut(Schema):
    total = fields.Integer()
    tasks = fields.List(fields.Nested(TaskOut))


class CompleteIn(Schema):
    data = fields.Dict(required=True)


class ReassignIn(Schema):
    username = text(validate.Length(1, 80), required=True)


class MessageIn(Schema):
    name = text(validate.Length(1, 100), required=True)
    payload = fields.Dict(load_default=dict)
    key = fields.String(validate=KEY)


class CancelIn(Schema):
    reason = text(validate.Length(1, 255), required=True)


class TimerOut(Schema):
    element_id = fields.String()
    fire_at = UtcDateTime()


class InstanceStateOut(Schema):
    instance = fields.Nested(InstanceOut)
    open_tasks = fields.List(fields.Nested(TaskOut))
    timers = fields.List(fields.Nested(TimerOut))


class AuditOut(Schema):
    at = UtcDateTime()
    user_id = fields.Integer(allow_none=True)
    action = fields.String()
    instance_id = fields.Integer(allow_none=True)
    human_task_id = fields.Integer(allow_none=True)
    detail = fields.String(allow_none=True)


class CaseHistoryOut(Schema):
    instances = fields.List(fields.Nested(InstanceOut))
    steps = fields.List(fields.Nested(TaskOut))
    audit = fields.List(fields.Nested(AuditOut))


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    case_id = fields.Integer()
    task_id = fields.Integer(attribute="human_task_id", allow_none=True)  # None: it is about a plan action
    plan_action_id = fields.Integer(allow_none=True)
    task_name = fields.String(attribute="subject")
    due_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    read_at = UtcDateTime(allow_none=True)
    email_status = fields.String()


class NotificationQuery(Schema):
    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class NotificationsOut(Schema):
    unread = fields.Integer()
    notifications = fields.List(fields.Nested(NotificationOut), attribute="items")


class IncidentOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    case_id = fields.Integer()
    area = fields.String(attribute="area_code")
    element_id = fields.String(allow_none=True)
    error = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)
