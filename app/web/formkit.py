"""Forms from JSON Schema and UI hints: fields to render with GOV.UK components, posted HTML forms to typed
JSON (dates from day/month/year, yes/no, numbers, checkboxes, repeating rows), and answers shown read-only.

Values move through three shapes: `raw` is what the inputs hold (strings, as typed, so a wrong date is shown
back as it was typed), `data` is the typed JSON the service layer validates, and `Field`s are what the
templates draw. Presentation only: what is valid is decided by the form's schema in `processes.forms`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

DATE_PARTS = ("day", "month", "year")
TEXTAREA_FROM_LENGTH = 500  # longer free text gets a textarea even without a `ui:widget` hint
RADIOS_UP_TO = 8  # more choices than this become a select unless the hints say otherwise
MAX_ROWS = 50
DATE_HINT = "For example, 27 3 2026"
# A field's UI hint {"ui:revealWhen": {"<radio field>": <its answer>}}: the field applies to that answer only, so it
# is drawn inside that radio as a GOV.UK conditional reveal, and what it holds is kept only while the answer is chosen.
REVEAL = "ui:revealWhen"


@dataclass
class Field:
    """One question as the templates draw it; `rows` holds the fields of each repeating row."""

    name: str
    path: str
    input_name: str
    id: str
    kind: str  # text, textarea, number, date, radios, select, yesno, checkboxes, rows
    title: str
    hint: str | None
    placeholder: str | None
    required: bool
    max_length: int | None
    options: list[tuple[str, str]]
    value: Any
    error: str | None
    item_title: str = "item"
    rows: list[list[Field]] = field(default_factory=list)
    reveals: dict[str, list[Field]] = field(default_factory=dict)  # a radio's answer -> the fields it reveals
    scalar_rows: bool = False  # rows of one value each (an array of strings), not of objects


def humanise(value: str) -> str:
    text = re.sub(r"[_\-]+", " ", str(value)).strip()
    return text[:1].upper() + text[1:]


def choices(schema: dict[str, Any]) -> list[tuple[str, str]] | None:
    """A field's options as (value, label): labels from `oneOf: [{const, title}]`, else the enum humanised."""
    if "oneOf" in schema and all("const" in option for option in schema["oneOf"]):
        return [(str(o["const"]), o.get("title") or humanise(o["const"])) for o in schema["oneOf"]]
    if "enum" in schema:
        return [(str(value), humanise(value)) for value in schema["enum"]]
    return None


def option_label(schema: dict[str, Any], value: Any) -> str:
    return dict(choices(schema) or []).get(str(value), humanise(value))


def kind_of(schema: dict[str, Any], ui: dict[str, Any]) -> str:
    widget = ui.get("ui:widget")
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        return "checkboxes" if choices(items) is not None else "rows"
    if kind == "boolean":
        return "yesno"
    if kind in ("integer", "number"):
        return "number"
    options = choices(schema)
    if options is not None:
        if widget in ("radio", "select"):
            return "radios" if widget == "radio" else "select"
        return "radios" if len(options) <= RADIOS_UP_TO else "select"
    if widget == "date" or schema.get("format") == "date":
        return "date" if widget != "text" else "text"
    if widget == "textarea" or (widget is None and schema.get("maxLength", 0) >= TEXTAREA_FROM_LENGTH):
        return "textarea"
    return "text"


def ordered(schema: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    """Field names in `ui:order` (with `*` standing for the rest), then any the order left out."""
    names = list(schema.get("properties", {}))
    order = [n for n in ui.get("ui:order", []) if n == "*" or n in names]
    if "*" in order:
        rest = [n for n in names if n not in order]
        at = order.index("*")
        order = order[:at] + rest + order[at + 1:]
    return order + [n for n in names if n not in order]


def item_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return schema.get("items", {}) if isinstance(schema.get("items"), dict) else {}


def revealed_by(ui: dict[str, Any], name: str) -> tuple[str, str] | None:
    """(radio field, its answer as the input holds it) that a field applies to, from its `ui:revealWhen` hint."""
    hints = ui.get(name) if isinstance(ui.get(name), dict) else {}
    when = hints.get(REVEAL)
    if not isinstance(when, dict) or len(when) != 1:
        return None
    [(on, answer)] = when.items()
    return on, ({True: "yes", False: "no"}.get(answer, str(answer)) if isinstance(answer, bool) else str(answer))


def _hidden(ui: dict[str, Any], raw: dict[str, Any], name: str) -> bool:
    reveal = revealed_by(ui, name)
    return reveal is not None and raw.get(reveal[0]) != reveal[1]


# From typed data to what the inputs hold


def raw_from_data(schema: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
    data = data or {}
    return {name: _raw_value(prop, data[name]) for name, prop in schema.get("properties", {}).items() if name in data}


def _raw_value(schema: dict[str, Any], value: Any) -> Any:
    kind = kind_of(schema, {})
    if kind == "date" and isinstance(value, str):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            return {"day": "", "month": "", "year": ""}
        return {"day": str(parsed.day), "month": str(parsed.month), "year": str(parsed.year)}
    if kind == "yesno":
        return "yes" if value else "no"
    if kind == "checkboxes":
        return [str(v) for v in value] if isinstance(value, list) else []
    if kind == "rows":
        item = item_schema(schema)
        rows = value if isinstance(value, list) else []
        if item.get("type") == "object":
            return [raw_from_data(item, row if isinstance(row, dict) else {}) for row in rows]
        return [{"value": _raw_value(item, row)} for row in rows]
    return "" if value is None else str(value)


# From a posted form to what the inputs hold


def raw_from_form(schema: dict[str, Any], form: MultiDict, prefix: str = "") -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        key = f"{prefix}{name}"
        kind = kind_of(prop, {})
        if kind == "date":
            raw[name] = {part: form.get(f"{key}-{part}", "").strip() for part in DATE_PARTS}
        elif kind == "checkboxes":
            raw[name] = form.getlist(key)
        elif kind == "rows":
            raw[name] = _rows_from_form(prop, form, key)
        elif key in form:
            raw[name] = form.get(key, "")
    return raw


def _rows_from_form(schema: dict[str, Any], form: MultiDict, key: str) -> list[dict[str, Any]]:
    try:
        count = min(int(form.get(f"{key}-rows", "0")), MAX_ROWS)
    except ValueError:
        count = 0
    item = item_schema(schema)
    if item.get("type") == "object":
        return [raw_from_form(item, form, f"{key}.{index}.") for index in range(count)]
    wrapper = {"properties": {"value": item}}
    return [raw_from_form(wrapper, form, f"{key}.{index}.") for index in range(count)]


def _blank(raw: Any) -> bool:
    if isinstance(raw, dict):
        return all(_blank(v) for v in raw.values())
    if isinstance(raw, list):
        return all(_blank(v) for v in raw)
    return raw is None or str(raw).strip() == ""


def add_row(schema: dict[str, Any], raw: dict[str, Any], name: str) -> None:
    """The "Add another" button: one more empty row, working without JavaScript."""
    if kind_of(schema.get("properties", {}).get(name, {}), {}) == "rows":
        rows = raw.setdefault(name, [])
        if len(rows) < MAX_ROWS:
            rows.append({})


def remove_row(raw: dict[str, Any], name: str, index: int) -> None:
    rows = raw.get(name)
    if isinstance(rows, list) and 0 <= index < len(rows):
        rows.pop(index)


# From what the inputs hold to typed data, with the errors of conversion


def data_from_raw(schema: dict[str, Any], raw: dict[str, Any], path: str = "",
                  ui: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict]:
    """Typed JSON for the service layer: empty optional fields are left out, blank rows dropped, and so are the
    answers of fields revealed by a radio answer (`ui:revealWhen`) that is not chosen: they do not apply."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, prop in schema.get("properties", {}).items():
        if name not in raw or _hidden(ui or {}, raw, name):
            continue
        here = f"{path}{name}"
        value, error = _typed(prop, raw[name], here)
        if isinstance(error, dict):
            errors |= error  # a row's own fields: the rows are kept, so the rest of each is still checked
        elif error:
            errors[here] = error
        if value is not None and value != [] and not isinstance(error, str):
            data[name] = value
    return data, errors


def _typed(schema: dict[str, Any], raw: Any, path: str) -> tuple[Any, str | dict | None]:
    kind = kind_of(schema, {})
    title = schema.get("title") or humanise(path.rsplit(".", 1)[-1])
    if kind == "date":
        return _date(raw if isinstance(raw, dict) else {}, title)
    if kind == "yesno":
        return {"yes": True, "no": False}.get(raw), None
    if kind == "number":
        text = str(raw).strip().replace(",", "")
        if not text:
            return None, None
        try:
            return (int(text) if schema.get("type") == "integer" else float(text)), None
        except ValueError:
            return None, f"{title} must be a {'whole ' if schema.get('type') == 'integer' else ''}number"
    if kind == "checkboxes":
        return [v for v in raw if v] if isinstance(raw, list) else [], None
    if kind == "rows":
        return _rows(schema, raw if isinstance(raw, list) else [], path)
    text = str(raw).strip() if raw is not None else ""
    return (text or None), None


def _rows(schema: dict[str, Any], rows: list[Any], path: str) -> tuple[list[Any], dict]:
    item = item_schema(schema)
    wrapper = item if item.get("type") == "object" else {"properties": {"value": item}}
    values, errors = [], {}
    for row in rows:
        if _blank(row):
            continue
        index = len(values)
        value, row_errors = data_from_raw(wrapper, row, f"{path}.{index}.")
        if item.get("type") != "object":
            row_errors = {f"{path}.{index}": message for message in row_errors.values()}
            value = value.get("value")
        errors |= row_errors
        values.append(value)
    return values, errors


def _date(parts: dict[str, str], title: str) -> tuple[str | None, str | None]:
    given = {part: (parts.get(part) or "").strip() for part in DATE_PARTS}
    if not any(given.values()):
        return None, None
    missing = [part for part in DATE_PARTS if not given[part]]
    if missing:
        return None, f"{title} must include a {' and '.join(missing)}"
    try:
        day, month, year = (int(given[p]) for p in DATE_PARTS)
        if year < 1000:
            raise ValueError
        return date(year, month, day).isoformat(), None
    except ValueError:
        return None, f"{title} must be a real date"


# Plain-English messages for the service layer's validation errors


def message_for(schema: dict[str, Any], path: str, raw_message: str, value: Any) -> str:
    """A GOV.UK style message for a field the schema refused, from what the field is and what was given."""
    prop = schema_at(schema, path)
    if prop is None:
        return raw_message
    title = prop.get("title") or humanise(path.rsplit(".", 1)[-1])
    kind = kind_of(prop, {})
    lower = title[:1].lower() + title[1:]
    if _blank(value) or value == []:
        if kind in ("checkboxes",):
            return f"Select at least one option for {lower}"
        if kind in ("radios", "select", "yesno"):
            return f"Select {lower}" if kind != "yesno" else f"Select yes or no for {lower}"
        if kind == "rows":
            return f"Add at least one {prop.get('items', {}).get('title', 'row').lower()}"
        return f"Enter {lower}"
    if isinstance(value, str) and prop.get("maxLength") and len(value) > prop["maxLength"]:
        return f"{title} must be {prop['maxLength']} characters or fewer"
    if prop.get("x-date") and raw_message.startswith(title):
        return raw_message  # the service's own sentence for a date on the wrong side of today names the field
    if kind == "number":
        low, high = prop.get("minimum"), prop.get("maximum")
        if low is not None and high is not None:
            return f"{title} must be between {low} and {high}"
    return f"{title}: {raw_message}"


def schema_at(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema of the field at a dotted path such as `actions.0.due_date`."""
    current: dict[str, Any] | None = schema
    for part in path.split("."):
        if current is None:
            return None
        if part.isdigit() and current.get("type") == "array":
            current = item_schema(current)
        else:
            current = current.get("properties", {}).get(part)
    return current


def value_at(data: dict[str, Any], path: str) -> Any:
    current: Any = data
    for part in path.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def friendly_errors(schema: dict[str, Any], errors: dict[str, list[str]], data: dict[str, Any]) -> dict[str, str]:
    return {path: message_for(schema, path, messages[0], value_at(data, path)) for path, messages in errors.items()}


# What the templates draw


def fields(schema: dict[str, Any], ui: dict[str, Any], raw: dict[str, Any], errors: dict[str, str],
           prefix: str = "", path: str = "") -> list[Field]:
    """The fields to draw, in order; a field revealed by a radio answer is drawn inside that answer."""
    drawn = _fields(schema, ui, raw, errors, prefix, path)
    by_name = {one.name: one for one in drawn}
    shown = []
    for one in drawn:
        reveal = revealed_by(ui, one.name)
        radio = by_name.get(reveal[0]) if reveal else None
        if radio is not None and radio.kind in ("radios", "yesno"):
            radio.reveals.setdefault(reveal[1], []).append(one)
        else:
            shown.append(one)
    return shown


def _conditionally_required(schema: dict[str, Any]) -> set[str]:
    """Fields the schema requires under some answer (`allOf: [{if, then: {required}}]`): asked as required."""
    return {name for rule in schema.get("allOf", []) if isinstance(rule, dict)
            for name in rule.get("then", {}).get("required", [])}


def _fields(schema: dict[str, Any], ui: dict[str, Any], raw: dict[str, Any], errors: dict[str, str],
            prefix: str, path: str) -> list[Field]:
    required = set(schema.get("required", []))
    revealed_required = _conditionally_required(schema)
    result = []
    for name in ordered(schema, ui):
        prop = schema["properties"][name]
        hints = ui.get(name, {}) if isinstance(ui.get(name), dict) else {}
        here = f"{path}{name}"
        kind = kind_of(prop, hints)
        item = item_schema(prop)
        one = Field(
            name=name, path=here, input_name=f"{prefix}{here}", id=re.sub(r"[^A-Za-z0-9_-]", "-", f"{prefix}{here}"),
            kind=kind, title=prop.get("title") or humanise(name),
            hint=hints.get("ui:help") or prop.get("description") or (DATE_HINT if kind == "date" else None),
            placeholder=hints.get("ui:placeholder"),
            required=name in required or (revealed_by(ui, name) is not None and name in revealed_required),
            max_length=prop.get("maxLength"),
            options=choices(item if kind == "checkboxes" else prop) or [], value=raw.get(name),
            error=errors.get(here), item_title=(item.get("title") or "item"),
        )
        if kind == "rows":
            item_hints = hints.get("items", {}) if isinstance(hints.get("items"), dict) else {}
            rows = raw.get(name) if isinstance(raw.get(name), list) else []
            if item.get("type") == "object":
                one.rows = [fields(item, item_hints, row, errors, prefix, f"{here}.{i}.") for i, row in enumerate(rows)]
            else:
                one.scalar_rows = True
                wrapper = {"properties": {"value": {**item, "title": item.get("title") or one.item_title}}}
                one.rows = [fields(wrapper, {"value": item_hints}, row, _scalar_errors(errors, f"{here}.{i}"),
                                   prefix, f"{here}.{i}.") for i, row in enumerate(rows)]
        result.append(one)
    return result


def _scalar_errors(errors: dict[str, str], path: str) -> dict[str, str]:
    return {f"{path}.value": errors[path]} if path in errors else {}


def error_list(found: list[Field]) -> list[tuple[str, str]]:
    """(anchor id, message) for the error summary, in the order the fields appear."""
    listed = []
    for one in found:
        if one.error:
            # GOV.UK links a date's error to its first input; radios and checkboxes take the field's id.
            listed.append((f"{one.id}-day" if one.kind == "date" else one.id, one.error))
        for row in one.rows:
            listed += error_list(row)
        for revealed in one.reveals.values():
            listed += error_list(revealed)
    return listed


def row_action(schema: dict[str, Any], raw: dict[str, Any], action: str) -> bool:
    """Apply an "Add another" (`add:<field>`) or "Remove" (`remove:<field>:<row>`) button to the posted
    answers; False when the button was not one of those (the form is being sent)."""
    if action.startswith("add:"):
        add_row(schema, raw, action[4:])
        return True
    if action.startswith("remove:"):
        name, _, index = action[7:].rpartition(":")
        remove_row(raw, name, int(index) if index.isdigit() else -1)
        return True
    return False
