"""The API's edges: headers on every answer, refused control characters, size and depth limits, sane dates."""

import pytest
from sqlalchemy import func, select

from app import create_app
from processes.engine import forms
from processes.engine.db import db
from processes.engine.models import ProcessInstance
from processes.identity import users as identity
from processes.mace.models import Case
from tests.support.factories import bundle

API = "/api/v1"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def referrer(make_actor) -> dict[str, str]:
    actor = make_actor("referrer", username="rowan-referrer")
    return {"Authorization": f"Bearer {identity.create_token(actor.username)}"}


def test_every_api_answer_is_kept_from_caches_and_content_sniffing(client, referrer):
    answers = [client.get(f"{API}/tasks", headers=referrer),  # 200
               client.get(f"{API}/tasks"),  # 401
               client.get(f"{API}/cases/999999", headers=referrer),  # 404
               client.post(f"{API}/cases", json={}, headers=referrer),  # 400
               client.get(f"{API}/openapi.json", headers=referrer)]
    assert [a.status_code for a in answers] == [200, 401, 404, 400, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.status_code
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer.status_code
        assert "Strict-Transport-Security" not in answer.headers, "no HSTS outside production"


def test_production_sends_hsts_on_pages_and_api(database_uri, monkeypatch):
    monkeypatch.setenv("MACE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-secret-from-the-vault")
    client = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "TESTING": True}).test_client()
    for path in ("/sign-in", f"{API}/tasks", "/healthz"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path


@pytest.fixture
def manager(make_actor) -> dict[str, str]:
    actor = make_actor("team_manager", username="mika-manager")
    return {"Authorization": f"Bearer {identity.create_token(actor.username)}"}


@pytest.mark.parametrize("text", ["Robin\x00Example", "Robin\x1bExample", "Robin\x7f", "Robin\x85"])
def test_a_control_character_in_a_case_is_a_field_error_and_nothing_is_created(client, referrer, text):
    response = client.post(f"{API}/cases", json={"area": "north", "child_name": text}, headers=referrer)
    assert response.status_code == 400
    assert response.get_json() == {"code": "invalid_input", "message": "The request has fields to correct.",
                                   "errors": {"child_name": ["Remove the control character (such as NUL) from "
                                                             "this text."]}}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_tabs_and_new_lines_are_text_and_kept(client, referrer):
    response = client.post(f"{API}/cases", json={"area": "north", "child_name": "Robin\tExample"}, headers=referrer)
    assert response.status_code == 201 and response.get_json()["child_name"] == "Robin\tExample"


def test_control_characters_anywhere_are_named_by_their_field(client, referrer, manager):
    cases = [
        (f"{API}/instances/1/cancel", {"reason": "dup\x00licate"}, manager, {"reason"}),
        (f"{API}/tasks/1/reassign", {"username": "harper\x00"}, manager, {"username"}),
        (f"{API}/cases/1/instances", {"key": "screening", "data": {"notes": ["ok", "bad\x00"]}}, referrer,
         {"data.notes.1"}),
        (f"{API}/cases/1/messages", {"name": "missing_episode", "payload": {"wh\x00ere": "x"}}, referrer,
         {"payload.wh\ufffdere"}),
    ]
    for path, body, who, fields in cases:
        response = client.post(path, json=body, headers=who)
        assert response.status_code == 400, path
        assert set(response.get_json()["errors"]) == fields, path
    stage = client.get(f"{API}/tasks", query_string={"limit": "5\x00"}, headers=referrer)
    assert stage.status_code == 400 and set(stage.get_json()["errors"]) == {"query.limit"}


def test_json_nested_deeper_than_the_limit_is_a_400_not_a_crash(client, referrer):
    for depth in (33, 1_000, 100_000):
        body = '{"area": "north", "child_name": "R", "x": ' + "[" * depth + "]" * depth + "}"
        response = client.post(f"{API}/cases", data=body, content_type="application/json", headers=referrer)
        assert response.status_code == 400, depth
        assert response.get_json()["errors"] == {"body": ["Nest lists and objects at most 32 deep."]}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_request_over_the_size_limit_is_a_413_in_json(client, referrer):
    response = client.post(f"{API}/cases", json={"area": "north", "child_name": "R" * 300_000}, headers=referrer)
    assert response.status_code == 413
    assert response.get_json()["code"] == "request_entity_too_large"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_deploy_may_carry_two_megabytes_but_no_more(client, make_actor):
    owner = {"Authorization": f"Bearer {identity.create_token(make_actor('process_owner').username)}"}
    padding = "<!-- " + "x" * 1_000_000 + " -->"
    files = {**bundle("screening"), "notes.bpmn": padding}
    allowed = client.post(f"{API}/definitions", json={"key": "big", "files": files}, headers=owner)
    assert allowed.status_code != 413, "a megabyte bundle is within a deploy's limit"
    files["more.bpmn"] = padding * 2
    refused = client.post(f"{API}/definitions", json={"key": "big", "files": files}, headers=owner)
    assert refused.status_code == 413 and refused.get_json()["code"] == "request_entity_too_large"


@pytest.mark.parametrize(("born", "message"), [
    ("2999-01-01", "Date of birth must be today or in the past."),
    ("0423-02-24", "Date of birth must be within the last 25 years: check the year."),
])
def test_a_date_of_birth_out_of_range_is_a_field_error(client, referrer, born, message):
    response = client.post(f"{API}/cases", json={"area": "north", "child_name": "R", "date_of_birth": born},
                           headers=referrer)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"date_of_birth": [message]}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


@pytest.fixture
def case_id(client, referrer, deploy) -> int:
    deploy("screening")
    return client.post(f"{API}/cases", json={"area": "north", "child_name": "R", "date_of_birth": "2012-05-17"},
                       headers=referrer).get_json()["id"]


def test_start_data_past_its_limit_is_refused_and_starts_nothing(client, referrer, case_id):
    data = {"note": "x" * 70_000}
    response = client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening", "data": data},
                           headers=referrer)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"data": ["Keep this to 64 KB of JSON: attach long documents "
                                                      "elsewhere and refer to them."]}
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_answers_past_their_limit_are_refused_and_the_step_stays_open(client, referrer, case_id):
    assert client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"},
                       headers=referrer).status_code == 201
    [task] = client.get(f"{API}/tasks", headers=referrer).get_json()["tasks"]
    big = client.post(f"{API}/tasks/{task['id']}/complete",
                      json={"data": {"exploitation_types": ["online"], "concern": "x" * 70_000}}, headers=referrer)
    assert big.status_code == 400 and list(big.get_json()["errors"]) == ["data"]
    assert client.get(f"{API}/tasks/{task['id']}", headers=referrer).get_json()["status"] == "open"


def test_a_form_date_from_year_0423_or_2999_is_refused_naming_the_field(client, case_id, make_actor):
    missing = {"Authorization": f"Bearer {identity.create_token(make_actor('missing_coordinator').username)}"}
    assert client.post(f"{API}/cases/{case_id}/messages", json={"name": "missing_episode", "key": "screening"},
                       headers=missing).status_code == 200
    [task] = client.get(f"{API}/tasks", headers=missing).get_json()["tasks"]
    for offered in ("0423-02-24", "2999-01-01"):
        response = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": {"offered_on": offered}},
                               headers=missing)
        assert response.status_code == 400, offered
        assert response.get_json()["errors"] == {"offered_on": [forms.range_message()]}, offered
    assert client.post(f"{API}/tasks/{task['id']}/complete", json={"data": {"offered_on": "2026-11-02"}},
                       headers=missing).status_code == 200


def test_the_document_and_the_api_agree_on_unknown_query_parameters_and_nested_field_errors(client, referrer):
    unknown = client.get(f"{API}/tasks", query_string={"limt": "5"}, headers=referrer)
    assert unknown.status_code == 400 and unknown.get_json()["errors"] == {"query.limt": ["Unknown field."]}
    nameless = client.post(f"{API}/definitions", json={"key": "k", "files": {"": "x"}}, headers=referrer)
    assert nameless.status_code == 400
    assert nameless.get_json()["errors"] == {"files.key": ["Length must be between 1 and 255."]}
    spec = client.get(f"{API}/openapi.json", headers=referrer).get_json()
    assert spec["components"]["schemas"]["ErrorOut"]["properties"]["code"]["type"] == "string"
    files = spec["components"]["schemas"]["DeployIn"]["properties"]["files"]
    assert files["minProperties"] == 1 and "minLength" not in files
