"""What the administration pages share: their questions as GOV.UK fields, read back from the posted form, and a
service's refusal as the error summary naming each field."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import request

from .formkit import Field


@dataclass(frozen=True)
class Question:
    """One question of an administration form; its name is the service's parameter it answers."""

    name: str
    kind: str  # text or checkboxes
    title: str
    hint: str | None = None
    required: bool = True
    max_length: int | None = None
    options: Callable[[], list[tuple[str, str]]] | None = None


def answers(questions: Iterable[Question]) -> dict[str, Any]:
    """The posted answers by question name: text trimmed (an optional one left empty is None), choices as lists."""
    found: dict[str, Any] = {}
    for q in questions:
        if q.kind == "checkboxes":
            found[q.name] = request.form.getlist(q.name)
        else:
            text = request.form.get(q.name, "").strip()
            found[q.name] = text if text or q.required else None
    return found


def fields(questions: Iterable[Question], values: dict[str, Any] | None = None,
           errors: dict[str, list[str]] | None = None) -> list[Field]:
    values, errors = values or {}, errors or {}
    return [Field(name=q.name, path=q.name, input_name=q.name, id=q.name, kind=q.kind, title=q.title, hint=q.hint,
                  placeholder=None, required=q.required, max_length=q.max_length,
                  options=q.options() if q.options else [], value=values.get(q.name),
                  error=(errors.get(q.name) or [None])[0])
            for q in questions]


def summary(errors: dict[str, list[str]], questions: Iterable[Question] = (),
            anchors: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The error summary's (anchor, message) pairs in the order the questions are asked; a message about no one
    field links to `anchors[key]`."""
    order, anchors = [q.name for q in questions], anchors or {}
    ranked = sorted(errors.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    return [(anchors.get(name, name), messages[0]) for name, messages in ranked]
