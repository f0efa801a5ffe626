"""The JSON API over the Flask test client: authentication, OpenAPI, deploy, a case's journey, errors."""

import json
from datetime import UTC, datetime

import pytest

from processes import identity
from processes.db import db
from processes.models import ApiToken
from tests.conftest import bundle


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token_for(make_actor):
    def make(*roles, areas=("north",)):
        actor = make_actor(*roles, areas=areas)
        return {"Authorization": f"Bearer {identity.create_token(actor.username)}"}
    return make


@pytest.fixture
def owner(token_for):
    return token_for("process_owner")


@pytest.fixture
def deployed(client, owner):
    response = client.post("/api/v1/definitions", json={"key": "screening", "files": bundle("screening")},
                           headers=owner)
    assert response.status_code == 201
    return response.get_json()


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/api/v1/openapi.json"])
def test_every_call_needs_a_valid_token(client, token_for, path):
    headers = token_for("referrer")
    assert client.get(path, headers=headers).status_code == 200
    for bad in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer mace_not_a_token"}):
        response = client.get(path, headers=bad)
        assert response.status_code == 401
        assert response.get_json()["code"] == "unauthenticated"
    db.session.query(ApiToken).update({"revoked_at": datetime.now(UTC)})
    db.session.commit()
    assert client.get(path, headers=headers).status_code == 401
    assert client.get("/healthz").status_code == 200


def test_tokens_are_stored_only_as_hashes(token_for):
    headers = token_for("referrer")
    token = headers["Authorization"].split()[1]
    stored = db.session.query(ApiToken.token_hash).scalar()
    assert token not in stored and len(stored) == 64


def test_openapi_document_lists_the_api(client, token_for):
    spec = client.get("/api/v1/openapi.json", headers=token_for("referrer")).get_json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/definitions", "/api/v1/cases", "/api/v1/cases/{case_id}/instances",
                 "/api/v1/tasks", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/complete",
                 "/api/v1/instances/{instance_id}", "/api/v1/cases/{case_id}/history"]:
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_deploy_new_unchanged_invalid_and_forbidden(client, owner, token_for, deployed):
    again = client.post("/api/v1/definitions", json={"key": "screening", "files": bundle("screening")},
                        headers=owner)
    assert again.status_code == 200 and again.get_json()["id"] == deployed["id"]
    broken = bundle("screening")
    broken["screening.bpmn"] = broken["screening.bpmn"].replace('"PT72H"', '"soon"')
    bad = client.post("/api/v1/definitions", json={"key": "screening", "files": broken}, headers=owner)
    assert bad.status_code == 422
    [problem] = bad.get_json()["problems"]
    assert (problem["file"], problem["element_id"]) == ("screening.bpmn", "wait_followup")
    missing = client.post("/api/v1/definitions", json={"key": "screening"}, headers=owner)
    assert missing.status_code == 400 and "files" in missing.get_json()["errors"]
    forbidden = client.post("/api/v1/definitions", json={"key": "x", "files": bundle("screening")},
                            headers=token_for("referrer"))
    assert forbidden.status_code == 403
    versions = client.get("/api/v1/definitions?key=screening", headers=owner).get_json()
    assert [v["version"] for v in versions] == [1]


def test_a_case_journey_with_validation_conflict_and_history(client, token_for, deployed):
    referrer, hub = token_for("referrer"), token_for("hub_practitioner")
    case = client.post("/api/v1/cases", json={"area": "north", "child_name": "Api Child"}, headers=referrer)
    assert case.status_code == 201
    case_id = case.get_json()["id"]
    started = client.post(f"/api/v1/cases/{case_id}/instances", json={"key": "screening"}, headers=referrer)
    assert started.status_code == 201 and started.get_json()["status"] == "running"
    instance_id = started.get_json()["id"]

    [task] = client.get("/api/v1/tasks", headers=referrer).get_json()["tasks"]
    assert task["element_id"] == "screen"
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=referrer).get_json()
    assert detail["form_schema"] == json.loads(bundle("screening")["screening.schema.json"])

    before = client.get(f"/api/v1/instances/{instance_id}", headers=referrer).get_json()
    invalid = client.post(f"/api/v1/tasks/{task['id']}/complete",
                          json={"data": {"exploitation_types": []}}, headers=referrer)
    assert invalid.status_code == 400
    assert set(invalid.get_json()["errors"]) == {"exploitation_types", "concern"}
    after = client.get(f"/api/v1/instances/{instance_id}", headers=referrer).get_json()
    assert after == before, "a rejected submission must change nothing"

    data = {"data": {"exploitation_types": ["criminal"], "concern": "County lines contact"}}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=referrer)
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert [t["element_id"] for t in client.get("/api/v1/tasks", headers=hub).get_json()["tasks"]] == \
        ["hub_decision"]
    twice = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=referrer)
    assert twice.status_code == 409 and "already completed" in twice.get_json()["message"]

    history = client.get(f"/api/v1/cases/{case_id}/history", headers=referrer).get_json()
    assert [(s["element_id"], s["status"]) for s in history["steps"]] == \
        [("screen", "completed"), ("hub_decision", "open")]
    assert "County lines" not in json.dumps(history["audit"])


def test_other_areas_and_unknown_ids_are_not_found(client, token_for, deployed):
    referrer = token_for("referrer")
    south = token_for("referrer", "hub_practitioner", areas=("south",))
    case_id = client.post("/api/v1/cases", json={"area": "north", "child_name": "North Child"},
                          headers=referrer).get_json()["id"]
    instance_id = client.post(f"/api/v1/cases/{case_id}/instances", json={"key": "screening"},
                              headers=referrer).get_json()["id"]
    task_id = client.get("/api/v1/tasks", headers=referrer).get_json()["tasks"][0]["id"]
    for path in [f"/api/v1/cases/{case_id}", f"/api/v1/instances/{instance_id}", f"/api/v1/tasks/{task_id}",
                 f"/api/v1/cases/{case_id}/history", "/api/v1/cases/999999", "/api/v1/tasks/999999"]:
        assert client.get(path, headers=south).status_code == 404, path
    assert client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}, headers=south).status_code == 404
    assert client.get("/api/v1/tasks", headers=south).get_json()["total"] == 0


def test_claim_and_messages(client, token_for, deployed):
    referrer, other = token_for("referrer"), token_for("referrer")
    missing = token_for("missing_coordinator")
    case_id = client.post("/api/v1/cases", json={"area": "north", "child_name": "C"}, headers=referrer).get_json()["id"]
    client.post(f"/api/v1/cases/{case_id}/instances", json={"key": "screening"}, headers=referrer)
    task_id = client.get("/api/v1/tasks", headers=referrer).get_json()["tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=referrer).status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=other).status_code == 409
    assert client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=referrer).status_code == 200

    started = client.post(f"/api/v1/cases/{case_id}/messages", json={"name": "missing_episode"}, headers=missing)
    assert started.status_code == 200 and started.get_json()[0]["process_id"] == "missing_episode"
    [task] = client.get("/api/v1/tasks", headers=missing).get_json()["tasks"]
    assert task["element_id"] == "return_interview"
    unknown = client.post(f"/api/v1/cases/{case_id}/messages", json={"name": "unheard_of"}, headers=missing)
    assert unknown.status_code == 409
