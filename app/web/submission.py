"""A page's form sent to a service, written once: done, or the page drawn again with its errors and the input kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask.typing import ResponseReturnValue

from processes.engine.errors import Conflict, InvalidInput, WorkflowFailed

from . import display

# A failed step is no one field's fault: its line in the error summary leads to the top of the page.
FAILURE_ANCHOR = "main-content"


@dataclass(frozen=True)
class Refusal:
    """Why a form was not taken, for drawing its page again: messages by field, and anything else that stopped it."""

    errors: dict[str, str] = field(default_factory=dict)
    conflict: str | None = None  # someone else changed it first
    failure: str | None = None  # a script or condition of the diagram failed; nothing was saved

    @property
    def status(self) -> int:
        if self.errors:
            return 400
        if self.conflict:
            return 409
        return 422 if self.failure else 200

    def summary(self, field_errors: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The GOV.UK error summary's (anchor, message) lines: a failed step first, then the fields'."""
        return ([(FAILURE_ANCHOR, self.failure)] if self.failure else []) + field_errors


NOTHING = Refusal()  # a page drawn for the first time


def submit(errors: dict[str, str], *, check: Callable[[], object], send: Callable[[], ResponseReturnValue],
           friendly: Callable[[InvalidInput], dict[str, str]],
           again: Callable[[Refusal], ResponseReturnValue]) -> ResponseReturnValue:
    """Send what the form holds, or else draw the page `again` saying why not.

    With errors the form found itself, `check` still asks the service for every other problem at once, saving
    nothing, so that one round trip names them all; without, `send` does the work and answers (a redirect).
    The service's InvalidInput is put in people's words by `friendly`; the form's own messages win.
    """
    try:
        if errors:
            check()
        else:
            return send()
    except InvalidInput as invalid:
        errors = friendly(invalid) | errors
    except Conflict as conflict:
        return again(Refusal(errors, conflict=display.refusal(conflict)))
    except WorkflowFailed as failure:
        return again(Refusal(errors, failure=failure.message))
    return again(Refusal(errors))
