"""What any request may carry, for the API and the web alike: text without control characters, JSON not too deep."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from werkzeug.datastructures import MultiDict

# C0 controls but tab, line feed and carriage return (typed in any text box), DEL and C1 controls: none is ever
# typed, NUL cannot be stored in PostgreSQL text, and the others hide or rewrite what a reader sees.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = "Remove the control character (such as NUL) from this text."
# The same rule as a JSON Schema pattern, so the OpenAPI document says what the API refuses.
NO_CONTROL_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"


def _name(key: Any) -> str:
    """A key as an error may name it: its control characters shown as U+FFFD, never sent back as they came."""
    return CONTROL.sub("\ufffd", str(key))


def _walk(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    """Every key and value inside a JSON document with its dotted path, without recursion (the depth is unknown)."""
    stack = [(path, value)]
    while stack:
        here, item = stack.pop()
        yield here, item
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{here}.{_name(key)}".lstrip(".")
                yield where, key
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{here}.{i}".lstrip("."), child) for i, child in enumerate(item))


def control_errors(document: Any, prefix: str = "") -> dict[str, list[str]]:
    """Field path -> message for each text (key or value) holding a control character."""
    return {path or "body": [CONTROL_MESSAGE] for path, item in _walk(document, prefix)
            if isinstance(item, str) and CONTROL.search(item)}


def form_errors(values: MultiDict, prefix: str = "") -> dict[str, list[str]]:
    """The same for a query string or a posted form, by field name."""
    return {f"{prefix}{_name(name)}": [CONTROL_MESSAGE] for name, value in values.items(multi=True)
            if CONTROL.search(name) or CONTROL.search(value)}


def depth(document: Any) -> int:
    """How deeply lists and objects nest: 0 for a number or a text, 1 for a flat object."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            level += 1
            deepest = max(deepest, level)
            stack.extend((child, level) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
