"""Checking a bundle extension's JSON file (a pathway's timescales, its retention schedule) in plain sentences."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jsonschema.protocols import Validator


def schema_problems(validator: Validator, config: Any) -> list[str]:
    """Each way the configuration breaks its JSON Schema, as 'where: what', in the order of the places."""
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
            for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))]


def file_problems(text: str, what: str, broken: str, problems: Callable[[Any], list[str]]) -> list[str]:
    """The file's problems: `what` is not JSON at all, or each of `problems(config)` after `broken`."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"{what} not valid JSON: {exc.msg} (line {exc.lineno})."]
    return [f"{broken} {problem}" for problem in problems(config)]
