"""Errors the service layer raises; each carries the HTTP status the API answers with."""

from dataclasses import dataclass
from datetime import datetime


class ServiceError(Exception):
    """A request the service layer refused; nothing was changed."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    """Refused for the actor's roles; `roles` could do `what`, so a page can name them in people's words."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, roles: tuple[str, ...] = (), what: str | None = None):
        super().__init__(message)
        self.roles = roles
        self.what = what


class Conflict(ServiceError):
    """Someone changed it first; `at`, when known, is when, so a page can say it in the reader's own time."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, at: datetime | None = None):
        super().__init__(message)
        self.at = at


class InvalidInput(ServiceError):
    """Submitted data failed validation; `errors` maps each field path to its messages."""

    status = 400
    code = "invalid_input"

    def __init__(self, message: str, errors: dict[str, list[str]]):
        super().__init__(message)
        self.errors = errors

    def to_dict(self) -> dict:
        return {**super().to_dict(), "errors": self.errors}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a deployed bundle, located by file, element id and the element's name."""

    file: str
    element_id: str | None
    message: str
    element_name: str | None = None

    def to_dict(self) -> dict:
        return {"file": self.file, "element_id": self.element_id, "element_name": self.element_name,
                "message": self.message}


class BundleInvalid(ServiceError):
    status = 422
    code = "bundle_invalid"

    def __init__(self, problems: list[Problem]):
        super().__init__(f"The bundle was not deployed: {len(problems)} problem(s) found.")
        self.problems = problems

    def to_dict(self) -> dict:
        return {**super().to_dict(), "problems": [p.to_dict() for p in self.problems]}


class WorkflowFailed(ServiceError):
    """A script, condition or expression in the diagram failed while running; the step was undone."""

    status = 422
    code = "workflow_error"

    def __init__(self, element_id: str | None, detail: str):
        super().__init__(f"Step '{element_id}' failed: {detail}. Nothing was saved.")
        self.element_id = element_id

    def to_dict(self) -> dict:
        return {**super().to_dict(), "element_id": self.element_id}


class ScriptFunctionError(LookupError):
    """Raised by a function a bundle extension offers diagrams, with a message that names only code (a
    timescale's name, say), never a value from a case: it is safe to show and to log."""
