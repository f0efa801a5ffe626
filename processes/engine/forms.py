"""Form schemas of user tasks and validation of submitted data against them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for

from processes.engine import bundle as bundles
from processes.engine.clock import LOCAL, now
from processes.engine.errors import InvalidInput
from processes.engine.hooks import HOOKS
from processes.engine.models import ProcessDefinition

# A field whose choices are known only when the step runs (the users of its area, say) names their provider.
OPTIONS = "x-options"


def schema_for(definition: ProcessDefinition, form: str | None) -> dict[str, Any]:
    return bundles.for_definition(definition).forms.get(form or "", {"type": "object"})


def ui_schema_for(definition: ProcessDefinition, form: str | None) -> dict[str, Any]:
    """The form's UI hints (`ui:order`, `ui:widget`, `ui:help`, ...), or {} when it has none."""
    if not form:
        return {}
    return bundles.for_definition(definition).ui_schemas.get(bundles.ui_schema_name(form), {})


def options_provider(spec: Any) -> str | None:
    """The provider an `x-options` value names (`users_with_role:allocated_worker` -> `users_with_role`)."""
    return spec.partition(":")[0] if isinstance(spec, str) else None


def _options(spec: str, area: str) -> list[tuple[str, str]]:
    provider, _, argument = spec.partition(":")
    source = HOOKS.form_options.get(provider)
    if source is None:  # refused at deploy, so only a provider unregistered since could get here
        raise RuntimeError(f"No form options provider '{provider}' is registered.")
    return source(argument, area)


def _dynamic(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: prop for name, prop in schema.get("properties", {}).items()
            if isinstance(prop, dict) and OPTIONS in prop}


def with_options(schema: dict[str, Any], area: str) -> dict[str, Any]:
    """The schema with each `x-options` field's choices, for a step of this area, listed as `oneOf` (for forms
    to offer); the stored schema is left as it is."""
    dynamic = _dynamic(schema)
    if not dynamic:
        return schema
    listed = {name: {**prop, "oneOf": [{"const": value, "title": label}
                                       for value, label in _options(prop[OPTIONS], area)]}
              for name, prop in dynamic.items()}
    return {**schema, "properties": {**schema["properties"], **listed}}


def _option_errors(schema: dict[str, Any], data: dict[str, Any], area: str | None) -> dict[str, list[str]]:
    """An `x-options` answer must be one of the choices the step offers now."""
    errors = {}
    for name, prop in _dynamic(schema).items():
        if name in data and area is not None and data[name] not in dict(_options(prop[OPTIONS], area)):
            title = prop.get("title") or name
            errors[name] = [f"'{data[name]}' is not one of the choices for {title.lower()}: choose one from the list."]
    return errors


def all_schemas(definition: ProcessDefinition) -> dict[str, dict[str, Any]]:
    """Every form of a version, by file name."""
    return dict(bundles.for_definition(definition).forms)


def form_of_step(definition: ProcessDefinition, element_id: str) -> str | None:
    """The form file of the user task with this element id, in whichever of the version's processes holds it."""
    for spec in bundles.for_definition(definition).all_specs():
        task_spec = spec.task_specs.get(element_id)
        if task_spec is not None:
            return getattr(task_spec, "extensions", {}).get("properties", {}).get(bundles.FORM_PROPERTY)
    return None


_validators: dict[tuple[str, str], Any] = {}
# Dates a person records (an interview held, a plan's review) are of this case's lifetime: a year 0423 or 2999
# is a slip of the keyboard, and a year past 9999 cannot even be stored.
EARLIEST_YEAR = 1900
YEARS_AHEAD = 10
_FORMATS = FormatChecker()


def _in_range(day: date) -> bool:
    return EARLIEST_YEAR <= day.year <= now().year + YEARS_AHEAD


@_FORMATS.checks("date", raises=ValueError)
def _sane_date(value: object) -> bool:
    return not isinstance(value, str) or _in_range(date.fromisoformat(value))


@_FORMATS.checks("date-time", raises=ValueError)
def _sane_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    return parsed.tzinfo is not None and _in_range(parsed.date())


_DATES = {"date", "date-time"}
# `"x-date": "past"` marks a date of something that happened (today at the latest); `"future"`, a date something
# is due (today at the earliest). "Today" is on the partnership's clocks, read from the engine's clock.
DATE_RULE = "x-date"
DATE_RULES = {"past": "must be today or in the past", "future": "must be today or in the future"}


def date_rule_fields(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Each field of a form (dotted path, with `*` for an array's rows) that carries an `x-date` rule."""
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        here = f"{path}{name}"
        if DATE_RULE in prop:
            yield here, prop
        if isinstance(prop.get("items"), dict):
            yield from date_rule_fields(prop["items"], f"{here}.*.")
        yield from date_rule_fields(prop, f"{here}.")


def _day_of(value: str) -> date:
    if "T" not in value:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).astimezone(LOCAL).date()


def _date_rule_errors(schema: dict[str, Any], data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, message) for each date on the wrong side of today; dates malformed are the format check's."""
    if not isinstance(data, dict):
        return
    today = now().astimezone(LOCAL).date()
    for name, prop in (schema.get("properties") or {}).items():
        value, here = data.get(name), f"{path}{name}"
        if not isinstance(prop, dict) or value is None:
            continue
        rule = prop.get(DATE_RULE)
        if rule in DATE_RULES and isinstance(value, str):
            with contextlib.suppress(ValueError):
                day = _day_of(value)
                if (day > today) if rule == "past" else (day < today):
                    yield here, f"{prop.get('title') or name} {DATE_RULES[rule]}"
        if isinstance(value, list) and isinstance(prop.get("items"), dict):
            for index, row in enumerate(value):
                yield from _date_rule_errors(prop["items"], row, f"{here}.{index}.")
        elif isinstance(value, dict):
            yield from _date_rule_errors(prop, value, f"{here}.")


def range_message() -> str:
    return f"Enter a real date, from {EARLIEST_YEAR} to {now().year + YEARS_AHEAD}."


def _validator(definition: ProcessDefinition, form: str):
    """Compiled once per definition version and form; versions never change once deployed."""
    key = (definition.content_hash, form)
    if key not in _validators:
        schema = schema_for(definition, form)
        _validators[key] = validator_for(schema)(schema, format_checker=_FORMATS)
    return _validators[key]


def message_schema_name(message: str) -> str:
    """A message's payload, when the bundle describes it, is checked against `<message>.message.schema.json`."""
    return f"{message}.message.schema.json"


def validate_message(definition: ProcessDefinition, message: str, payload: Any) -> None:
    """Raise InvalidInput naming each payload field that is wrong (as `payload.<field>`)."""
    form = message_schema_name(message)
    if form not in bundles.for_definition(definition).forms:
        return
    try:
        validate(definition, form, payload)
    except InvalidInput as invalid:
        raise InvalidInput(f"The '{message}' message was not delivered: {invalid.message}",
                           {f"payload.{field}" if field != "data" else "payload": errors
                            for field, errors in invalid.errors.items()}) from None


def fields(definition: ProcessDefinition, form: str | None) -> list[str]:
    """The names of a form's fields."""
    return list(schema_for(definition, form).get("properties", {}))


def validate(definition: ProcessDefinition, form: str | None, data: Any, area: str | None = None) -> None:
    """Raise InvalidInput naming every field that is wrong; return quietly when the data is good. `area` is the
    step's, against which `x-options` answers are checked."""
    if not isinstance(data, dict):
        raise InvalidInput("The form data must be an object of field values.", {"data": ["Must be an object."]})
    if form is None:
        return
    errors: dict[str, list[str]] = {}
    for error in _validator(definition, form).iter_errors(data):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            path = ".".join(filter(None, [path, error.message.split("'")[1]]))
        elif error.validator == "additionalProperties":
            path = path or "data"
        message = range_message() if error.validator == "format" and error.validator_value in _DATES else \
            error.message
        errors.setdefault(path or "data", []).append(message)
    for path, message in _date_rule_errors(schema_for(definition, form), data):
        errors.setdefault(path, [message])  # a date the schema already refused keeps that one message
    for name, messages in _option_errors(schema_for(definition, form), data, area).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise InvalidInput(f"The form has {len(errors)} field(s) to correct.", errors)
