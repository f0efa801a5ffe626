"""The JSON API under /api/v1: bearer-token authentication, error mapping and blueprints."""

from __future__ import annotations

import json

from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from app import edges
from processes.engine.errors import ServiceError
from processes.identity.users import actor_for_token

from . import cases, definitions, incidents, instances, notifications, tasks
from .schemas import ErrorOut

PREFIX = "/api/v1"


def _authenticate():
    if not is_api_request():
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    actor = actor_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
    if actor is None:
        response = jsonify(code="unauthenticated", message="Send a valid API token: Authorization: Bearer <token>.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="mace"'
        return response
    g.actor = actor
    return None


# Only a deploy carries a whole bundle of diagrams and forms; every other request is a few fields.
DEPLOY_ENDPOINT = "definitions.Definitions"


def _refuse(message: str, errors: dict[str, list[str]]):
    return jsonify(code="invalid_input", message=message, errors=errors), 400


def _check_edges():
    """Before any view parses it: the body's size (413), how deep its JSON nests, and control characters (400)."""
    if not is_api_request():
        return None
    if request.endpoint == DEPLOY_ENDPOINT and request.method == "POST":
        request.max_content_length = current_app.config["MAX_DEPLOY_BYTES"]
    errors = edges.form_errors(request.args, "query.")
    if request.is_json:
        limit = current_app.config["MAX_JSON_DEPTH"]
        too_deep = {"body": [f"Nest lists and objects at most {limit} deep."]}
        try:
            body = json.loads(request.get_data(cache=True))  # RequestEntityTooLarge (413) past the size limit
        except RecursionError:
            return _refuse("The request body nests too deeply.", too_deep)
        except ValueError:
            body = None  # not JSON: the view's parser says so, naming the body
        if edges.depth(body) > limit:
            return _refuse("The request body nests too deeply.", too_deep)
        errors |= edges.control_errors(body)
    return _refuse("The request has fields to correct.", errors) if errors else None


def _headers(response):
    """API answers name children: no cache may keep them, and no browser may guess them to be a page."""
    if is_api_request():
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def service_error(error: ServiceError):
    return jsonify(error.to_dict()), error.status


def _flat(messages: dict, prefix: str) -> list[tuple[str, list[str]]]:
    """marshmallow nests the messages of a dict's keys and a list's items; errors name each by a dotted path."""
    found = []
    for name, value in messages.items():
        path = f"{prefix}{name}" if name != "" else prefix.rstrip(".") or "body"
        if isinstance(value, dict):
            found.extend(_flat(value, f"{path}."))
        else:
            found.append((path, value))
    return found


def http_error(error: HTTPException):
    """Every API error has one shape, {code, message[, errors]}; other pages keep Flask's own."""
    if not is_api_request():
        return error
    messages = getattr(error, "data", {}).get("messages")
    if error.code in (400, 422) and messages:
        # webargs reports bad fields as 422 and unparsable JSON as 400; both are the caller's input to fix.
        if isinstance(messages.get("json"), list):
            return jsonify(code="invalid_input", message="The request body is not valid JSON.",
                           errors={"body": messages["json"]}), 400
        fields = {path: msgs for loc, by_field in messages.items()
                  for path, msgs in _flat(by_field, "" if loc == "json" else f"{loc}.")}
        return jsonify(code="invalid_input", message="The request has fields to correct.", errors=fields), 400
    code = (error.name or "error").lower().replace(" ", "_")
    return jsonify(code=code, message=error.description), error.code


class MaceApi(Api):
    """flask-smorest's Api documenting the errors as this API sends them (its own default says `code` is a number)."""

    ERROR_SCHEMA = ErrorOut


def register_api(app: Flask) -> None:
    app.config.setdefault("API_SPEC_OPTIONS", {
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })
    api = MaceApi(app)
    for module in (definitions, cases, tasks, instances, notifications, incidents):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    app.before_request(_authenticate)
    app.before_request(_check_edges)
    app.after_request(_headers)
    # The app factory routes errors here for API paths (service_error, http_error) and to the web pages otherwise.
