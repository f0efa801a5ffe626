"""The JSON API under /api/v1 through the Flask test client: tokens, OpenAPI, deploys, a case's journey, privacy."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from processes.engine.db import db
from processes.engine.models import AuditEvent, ProcessDefinition, ProcessInstance
from processes.identity import users as identity
from processes.identity.models import ApiToken, User
from processes.mace.models import Case
from tests.support.factories import BUNDLES, bundle, person
from tests.support.tasks import count, snapshot

API = "/api/v1"
CONCERN = "Seen getting into a car with an unknown adult near Larkfield station"
SCREEN_DATA = {"exploitation_types": ["criminal", "online"], "concern": CONCERN}
HUB_REASON = "Discussed with the school nurse at Larkfield Primary"


@pytest.fixture
def client(app):
    return app.test_client()


def headers(actor) -> dict[str, str]:
    """Authorization headers with a new API token for this user."""
    return {"Authorization": f"Bearer {identity.create_token(actor.username)}"}


@pytest.fixture
def login(make_actor):
    """Authorization headers with a new API token for a new user holding these roles and areas."""

    def make(*roles: str, areas: tuple[str, ...] = ("north",), username: str | None = None) -> dict[str, str]:
        return headers(make_actor(*roles, areas=areas, username=username))

    return make


def user_id(username: str) -> int:
    return identity.get_user(username).id


def assert_unauthenticated(response) -> None:
    assert response.status_code == 401
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "unauthenticated"
    assert "Authorization: Bearer" in body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def deploy_body(files: dict[str, str] | None = None, key: str = "screening") -> dict:
    return {"key": key, "files": files if files is not None else bundle("screening")}


@pytest.fixture
def owner(login):
    return login("process_owner", username="olive-owner")


@pytest.fixture
def deployed(client, owner):
    response = client.post(f"{API}/definitions", json=deploy_body(), headers=owner)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def people(make_people):
    """Authorization headers, by who holds them."""
    made = make_people(referrer=person("referrer", username="rowan-referrer"),
                       hub=person("hub_practitioner", username="harper-hub"),
                       other_hub=person("hub_practitioner", username="hollis-hub"),
                       missing=person("missing_coordinator", username="morgan-missing"),
                       manager=person("team_manager", username="mika-manager"))
    return {who: headers(actor) for who, actor in made.items()}


@pytest.fixture
def referral(client, people, deployed):
    """A north case created and started through the API; returns (case_id, instance_id)."""
    created = client.post(f"{API}/cases", json={"area": "north", "child_name": "Robin Example",
                                                "date_of_birth": "2012-05-17"}, headers=people["referrer"])
    assert created.status_code == 201, created.get_json()
    case = created.get_json()
    assert (case["area"], case["child_name"], case["date_of_birth"]) == ("north", "Robin Example", "2012-05-17")
    started = client.post(f"{API}/cases/{case['id']}/instances", json={"key": "screening"},
                          headers=people["referrer"])
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert (instance["status"], instance["case_id"], instance["definition_key"], instance["definition_version"]) == \
        ("running", case["id"], "screening", 1)
    return case["id"], instance["id"]


def inbox(client, headers, **query) -> dict:
    response = client.get(f"{API}/tasks", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def only_task(client, headers, element_id: str) -> dict:
    [task] = [t for t in inbox(client, headers)["tasks"] if t["element_id"] == element_id]
    return task


def complete(client, headers, task_id: int, data: dict):
    return client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=headers)


def screened(client, people, case_id: int) -> dict:
    """Complete the referrer's screening; returns the hub decision task it opens."""
    task = only_task(client, people["referrer"], "screen")
    assert task["case_id"] == case_id
    assert complete(client, people["referrer"], task["id"], SCREEN_DATA).status_code == 200
    return only_task(client, people["hub"], "hub_decision")


# 1. Authentication


@pytest.mark.parametrize("path", [f"{API}/tasks", f"{API}/openapi.json"])
def test_missing_malformed_unknown_and_revoked_tokens_get_401(client, login, path):
    headers = login("referrer", username="tamsin-token")
    token = headers["Authorization"].split(" ", 1)[1]
    assert client.get(path, headers=headers).status_code == 200

    assert_unauthenticated(client.get(path))
    for malformed in ["", "Bearer", "Bearer ", f"Token {token}", f"Basic {token}", token, f"Bearer{token}"]:
        assert_unauthenticated(client.get(path, headers={"Authorization": malformed}))
    assert_unauthenticated(client.get(path, headers={"Authorization": f"Bearer {token}x"}))
    assert_unauthenticated(client.get(path, headers={"Authorization": "Bearer mace_" + "A" * 43}))

    second = identity.create_token("tamsin-token", "second device")
    digest = hashlib.sha256(token.encode()).hexdigest()
    stored = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    stored.revoked_at = datetime.now(UTC)
    db.session.commit()
    assert_unauthenticated(client.get(path, headers=headers))
    assert client.get(path, headers={"Authorization": f"Bearer {second}"}).status_code == 200, \
        "revoking one token must leave the user's other tokens working"


def test_every_api_route_and_method_refuses_a_request_without_a_token(app, client):
    routes = [(rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith(API)
              for method in rule.methods - {"HEAD", "OPTIONS"}]
    assert len(routes) >= 10, "the API's routes were not found"
    urls = app.url_map.bind("localhost")
    for rule, method in routes:
        path = urls.build(rule.endpoint, dict.fromkeys(rule.arguments, 1), method=method)
        assert urls.match(path, method=method)[0] == rule.endpoint
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, f"{method} {rule.rule} answered {response.status_code}"


def test_a_deactivated_users_token_gets_401(client, login):
    headers = login("referrer", username="dale-departed")
    assert client.get(f"{API}/tasks", headers=headers).status_code == 200
    db.session.execute(User.__table__.update().where(User.username == "dale-departed").values(is_active=False))
    db.session.commit()
    assert_unauthenticated(client.get(f"{API}/tasks", headers=headers))


def test_an_unauthenticated_write_changes_nothing(client, area):
    response = client.post(f"{API}/cases", json={"area": "north", "child_name": "Nobody Example"},
                           headers={"Authorization": "Bearer mace_forged"})
    assert_unauthenticated(response)
    assert count(Case) == 0


def test_healthz_needs_no_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


# 2. OpenAPI


def test_openapi_document_describes_the_api_and_its_bearer_security(client, login):
    response = client.get(f"{API}/openapi.json", headers=login("referrer"))
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["version"] == "v1"
    expected = {
        "/api/v1/definitions": {"get", "post"},
        "/api/v1/cases": {"post"},
        "/api/v1/cases/{case_id}/instances": {"post"},
        "/api/v1/tasks": {"get"},
        "/api/v1/tasks/{task_id}": {"get"},
        "/api/v1/tasks/{task_id}/complete": {"post"},
        "/api/v1/instances/{instance_id}": {"get"},
        "/api/v1/cases/{case_id}/history": {"get"},
    }
    for path, methods in expected.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), (path, set(spec["paths"][path]))
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert {"bearerAuth": []} in spec["security"]


# 3. Deploying definitions


def test_deploy_creates_a_version_then_is_unchanged_for_identical_content(client, owner, deployed):
    assert (deployed["key"], deployed["version"], deployed["entry_process_id"]) == ("screening", 1, "screening")
    assert deployed["files"] == sorted(bundle("screening")), "the listing names the files, not their contents"
    again = client.post(f"{API}/definitions", json=deploy_body(), headers=owner)
    assert again.status_code == 200
    assert (again.get_json()["id"], again.get_json()["version"]) == (deployed["id"], 1)
    assert count(ProcessDefinition) == 1


def test_changed_content_is_the_next_version_and_versions_are_listed_newest_first(client, owner, deployed):
    files = bundle("screening")
    files["screening.bpmn"] = files["screening.bpmn"].replace("Complete CE screening tool", "Screen the concern")
    second = client.post(f"{API}/definitions", json=deploy_body(files), headers=owner)
    assert second.status_code == 201 and second.get_json()["version"] == 2
    other = client.post(f"{API}/definitions", json=deploy_body(key="screening-copy"), headers=owner)
    assert other.status_code == 201 and other.get_json()["version"] == 1

    listed = client.get(f"{API}/definitions", headers=owner)
    assert listed.status_code == 200
    assert [(d["key"], d["version"]) for d in listed.get_json()] == \
        [("screening", 2), ("screening", 1), ("screening-copy", 1)]
    only = client.get(f"{API}/definitions", query_string={"key": "screening"}, headers=owner).get_json()
    assert [(d["key"], d["version"], d["id"]) for d in only] == \
        [("screening", 2, second.get_json()["id"]), ("screening", 1, deployed["id"])]


def test_a_broken_bundle_gets_422_naming_file_and_element_and_deploys_nothing(client, owner, deployed):
    broken = bundle("screening")
    broken["screening.bpmn"] = broken["screening.bpmn"].replace('"PT72H"', '"soon"')
    response = client.post(f"{API}/definitions", json=deploy_body(broken), headers=owner)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "bundle_invalid"
    assert isinstance(body["problems"], list) and body["problems"]
    [problem] = body["problems"]
    assert (problem["file"], problem["element_id"]) == ("screening.bpmn", "wait_followup")
    assert "'soon'" in problem["message"]
    versions = client.get(f"{API}/definitions", headers=owner).get_json()
    assert [v["version"] for v in versions] == [1]


@pytest.mark.parametrize("roles", [("referrer",), ("team_manager",), ("hub_practitioner", "mace_chair")])
def test_only_a_process_owner_may_deploy(client, login, roles):
    response = client.post(f"{API}/definitions", json=deploy_body(), headers=login(*roles))
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert count(ProcessDefinition) == 0


def test_a_deploy_body_with_missing_or_bad_fields_gets_400_naming_them(client, owner):
    missing = client.post(f"{API}/definitions", json={"key": "screening"}, headers=owner)
    assert missing.status_code == 400
    assert missing.get_json()["code"] == "invalid_input"
    assert list(missing.get_json()["errors"]) == ["files"]
    bad_key = client.post(f"{API}/definitions", json=deploy_body(key="Screening Tool"), headers=owner)
    assert bad_key.status_code == 400 and list(bad_key.get_json()["errors"]) == ["key"]
    empty = client.post(f"{API}/definitions", json=deploy_body(files={}), headers=owner)
    assert empty.status_code == 400 and list(empty.get_json()["errors"]) == ["files"]
    assert count(ProcessDefinition) == 0


def test_a_body_that_is_not_json_gets_the_documented_error_shape(client, owner):
    response = client.post(f"{API}/definitions", data="{not json", content_type="application/json", headers=owner)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "invalid_input" and isinstance(body["message"], str)


# 4. A case's journey


def test_the_referrers_inbox_lists_the_screening_task_with_its_form(client, people, referral):
    case_id, instance_id = referral
    listed = inbox(client, people["referrer"])
    assert listed["total"] == 1
    [task] = listed["tasks"]
    assert (task["element_id"], task["role"], task["area"], task["status"], task["case_id"], task["instance_id"]) \
        == ("screen", "referrer", "north", "open", case_id, instance_id)
    detail = client.get(f"{API}/tasks/{task['id']}", headers=people["referrer"])
    assert detail.status_code == 200
    schema_file = BUNDLES / "screening" / "screening.schema.json"
    assert detail.get_json()["form_schema"] == json.loads(schema_file.read_text(encoding="utf-8"))
    ui_file = BUNDLES / "screening" / "screening.uischema.json"
    assert detail.get_json()["ui_schema"] == json.loads(ui_file.read_text(encoding="utf-8"))
    assert detail.get_json()["name"] == "Complete CE screening tool"
    assert inbox(client, people["hub"])["total"] == 0


def test_invalid_form_data_gets_400_by_field_and_changes_nothing(client, people, referral):
    _, instance_id = referral
    task = only_task(client, people["referrer"], "screen")
    state_before = client.get(f"{API}/instances/{instance_id}", headers=people["referrer"]).get_json()
    stored_before = snapshot(instance_id)

    response = complete(client, people["referrer"], task["id"], {"exploitation_types": [], "concern": ""})
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "invalid_input"
    assert set(body["errors"]) == {"exploitation_types", "concern"}
    assert all(isinstance(m, str) for msgs in body["errors"].values() for m in msgs)
    missing = complete(client, people["referrer"], task["id"], {"exploitation_types": ["online"]})
    assert missing.status_code == 400 and list(missing.get_json()["errors"]) == ["concern"]

    assert client.get(f"{API}/tasks/{task['id']}", headers=people["referrer"]).get_json()["status"] == "open"
    assert client.get(f"{API}/instances/{instance_id}", headers=people["referrer"]).get_json() == state_before
    assert snapshot(instance_id) == stored_before, "state, version and task rows must be untouched"
    assert inbox(client, people["hub"])["total"] == 0


def test_valid_data_completes_the_task_and_opens_the_hub_decision(client, people, referral):
    case_id, instance_id = referral
    task = only_task(client, people["referrer"], "screen")
    version_before = db.session.get(ProcessInstance, instance_id).version
    response = complete(client, people["referrer"], task["id"], SCREEN_DATA)
    assert response.status_code == 200
    done = response.get_json()
    assert (done["id"], done["status"], done["completed_by_id"]) == \
        (task["id"], "completed", user_id("rowan-referrer"))
    assert done["completed_at"] is not None
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance_id).version > version_before

    assert inbox(client, people["referrer"])["total"] == 0
    [decision] = inbox(client, people["hub"])["tasks"]
    assert (decision["element_id"], decision["role"], decision["case_id"]) == ("hub_decision", "hub_practitioner",
                                                                             case_id)
    assert decision["due_at"] is not None
    state = client.get(f"{API}/instances/{instance_id}", headers=people["hub"]).get_json()
    assert [t["element_id"] for t in state["open_tasks"]] == ["hub_decision"]
    assert state["instance"]["status"] == "running" and state["timers"] == []


def test_completing_a_task_twice_is_a_409_with_a_plain_message(client, people, referral):
    _, instance_id = referral
    task = only_task(client, people["referrer"], "screen")
    assert complete(client, people["referrer"], task["id"], SCREEN_DATA).status_code == 200
    stored = snapshot(instance_id)
    again = complete(client, people["referrer"], task["id"], SCREEN_DATA)
    assert again.status_code == 409
    body = again.get_json()
    assert body["code"] == "conflict"
    assert f"Task {task['id']} was already completed" in body["message"]
    assert body["message"].endswith("your answers were not saved.")
    assert "Traceback" not in body["message"] and "Error" not in body["message"]
    assert snapshot(instance_id) == stored
    assert [t["element_id"] for t in inbox(client, people["hub"])["tasks"]] == ["hub_decision"]


def test_history_shows_the_completed_step_of_each_instance(client, people, referral):
    case_id, instance_id = referral
    screened(client, people, case_id)
    response = client.get(f"{API}/cases/{case_id}/history", headers=people["referrer"])
    assert response.status_code == 200
    history = response.get_json()
    assert [i["id"] for i in history["instances"]] == [instance_id]
    assert [(s["element_id"], s["status"]) for s in history["steps"]] == \
        [("screen", "completed"), ("hub_decision", "open")]
    assert history["steps"][0]["completed_by_id"] == user_id("rowan-referrer")
    completions = [a for a in history["audit"] if a["action"] == "task.complete"]
    assert [(a["detail"], a["user_id"], a["human_task_id"]) for a in completions] == \
        [("screen", user_id("rowan-referrer"), history["steps"][0]["id"])]


def test_reading_a_case_returns_it_and_is_audited(client, people, referral):
    case_id, _ = referral
    response = client.get(f"{API}/cases/{case_id}", headers=people["hub"])
    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["child_name"]) == (case_id, "Robin Example")
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.view")).all()
    assert [(v.case_id, v.user_id) for v in views] == [(case_id, user_id("harper-hub"))]


# 5. Need-to-know


@pytest.fixture
def south(login):
    return login("referrer", "hub_practitioner", "team_manager", "missing_coordinator", areas=("south",),
                 username="sasha-south")


def test_another_areas_case_instance_and_task_answer_404_like_unknown_ids(client, people, referral, south):
    case_id, instance_id = referral
    task_id = only_task(client, people["referrer"], "screen")["id"]
    for path in [f"{API}/cases/{case_id}", f"{API}/instances/{instance_id}", f"{API}/tasks/{task_id}",
                 f"{API}/cases/{case_id}/history"]:
        assert client.get(path, headers=people["referrer"]).status_code == 200, path
        response = client.get(path, headers=south)
        assert response.status_code == 404, path
        assert response.get_json()["code"] == "not_found", path
    assert client.get(f"{API}/cases/{case_id}", headers=south).get_json()["message"] == f"No case {case_id}."
    assert client.get(f"{API}/tasks/{task_id}", headers=south).get_json()["message"] == f"No task {task_id}."


def test_each_request_for_another_areas_record_is_audited_as_denied_without_the_childs_details(client, people,
                                                                                                referral, south):
    case_id, instance_id = referral
    task_id = only_task(client, people["referrer"], "screen")["id"]
    for path in [f"{API}/cases/{case_id}", f"{API}/instances/{instance_id}", f"{API}/tasks/{task_id}",
                 f"{API}/cases/{case_id}/history"]:
        assert client.get(path, headers=south).status_code == 404, path
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=south).status_code == 404
    denied = db.session.execute(select(AuditEvent.action, AuditEvent.case_id, AuditEvent.detail).where(
        AuditEvent.user_id == user_id("sasha-south")).order_by(AuditEvent.id)).all()
    assert [(action, case) for action, case, _ in denied] == [
        ("case.denied", case_id), ("instance.denied", case_id), ("task.denied", case_id), ("case.denied", case_id),
        ("task.denied", case_id)]
    assert all("Robin" not in (detail or "") for *_, detail in denied)


def test_every_child_an_api_list_returns_is_audited(client, people, referral):
    case_id, _ = referral
    inbox(client, people["referrer"])
    assert db.session.execute(select(AuditEvent.case_id, AuditEvent.detail).where(
        AuditEvent.action == "case.list", AuditEvent.user_id == user_id("rowan-referrer"))).all() == \
        [(case_id, "tasks API")]


def test_another_areas_case_cannot_be_changed_and_answers_404(client, people, referral, south):
    case_id, instance_id = referral
    task_id = only_task(client, people["referrer"], "screen")["id"]
    stored = snapshot(instance_id)
    attempts = [
        (f"{API}/tasks/{task_id}/complete", {"data": SCREEN_DATA}),
        (f"{API}/tasks/{task_id}/claim", None),
        (f"{API}/tasks/{task_id}/unclaim", None),
        (f"{API}/tasks/{task_id}/reassign", {"username": "sasha-south"}),
        (f"{API}/cases/{case_id}/instances", {"key": "screening"}),
        (f"{API}/cases/{case_id}/messages", {"name": "missing_episode"}),
        (f"{API}/instances/{instance_id}/cancel", {"reason": "not ours"}),
    ]
    for path, body in attempts:
        assert client.post(path, json=body, headers=south).status_code == 404, path
    assert snapshot(instance_id) == stored
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_another_areas_tasks_never_reach_the_inbox(client, people, referral, south):
    case_id, _ = referral
    screened(client, people, case_id)
    assert inbox(client, people["hub"])["total"] == 1
    assert inbox(client, south) == {"total": 0, "tasks": []}
    assert inbox(client, south, mine="true") == {"total": 0, "tasks": []}


def test_unknown_ids_answer_404(client, people, referral):
    for path in [f"{API}/cases/999999", f"{API}/instances/999999", f"{API}/tasks/999999",
                 f"{API}/cases/999999/history"]:
        response = client.get(path, headers=people["referrer"])
        assert response.status_code == 404, path
        assert response.get_json()["code"] == "not_found", path
    assert complete(client, people["referrer"], 999999, SCREEN_DATA).status_code == 404
    assert client.post(f"{API}/cases/999999/instances", json={"key": "screening"},
                       headers=people["referrer"]).status_code == 404


def test_another_areas_instance_answers_exactly_like_an_unknown_one(client, people, referral, south):
    _, instance_id = referral
    unknown = client.get(f"{API}/instances/999999", headers=south).get_json()
    assert unknown == {"code": "not_found", "message": "No process instance 999999."}
    hidden = client.get(f"{API}/instances/{instance_id}", headers=south).get_json()
    assert hidden == {"code": "not_found", "message": f"No process instance {instance_id}."}


# 6. Claim, unclaim and reassign


def test_claim_is_exclusive_and_unclaim_gives_the_task_back(client, people, referral):
    case_id, _ = referral
    task_id = screened(client, people, case_id)["id"]
    hub, other = people["hub"], people["other_hub"]

    claimed = client.post(f"{API}/tasks/{task_id}/claim", headers=hub)
    assert claimed.status_code == 200 and claimed.get_json()["assignee_id"] == user_id("harper-hub")
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=hub).status_code == 200, "claiming twice is harmless"
    second = client.post(f"{API}/tasks/{task_id}/claim", headers=other)
    assert second.status_code == 409 and second.get_json()["code"] == "conflict"
    assert [t["id"] for t in inbox(client, hub, mine="true")["tasks"]] == [task_id]
    assert inbox(client, other, mine="true")["total"] == 0
    blocked = complete(client, other, task_id, {"decision": "allocate"})
    assert blocked.status_code == 409 and "assigned to someone else" in blocked.get_json()["message"]

    assert client.post(f"{API}/tasks/{task_id}/unclaim", headers=other).status_code == 403
    released = client.post(f"{API}/tasks/{task_id}/unclaim", headers=hub)
    assert released.status_code == 200 and released.get_json()["assignee_id"] is None
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=other).status_code == 200
    assert complete(client, other, task_id, {"decision": "no_further_action"}).status_code == 200


def test_claim_needs_the_tasks_role(client, people, referral):
    case_id, _ = referral
    task_id = screened(client, people, case_id)["id"]
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=people["referrer"]).status_code == 404
    refused = client.post(f"{API}/tasks/{task_id}/claim", headers=people["manager"])
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    assert client.get(f"{API}/tasks/{task_id}", headers=people["hub"]).get_json()["assignee_id"] is None


def test_a_manager_reassigns_to_someone_holding_the_role_in_the_area(client, people, login, referral):
    case_id, _ = referral
    task_id = screened(client, people, case_id)["id"]
    login("hub_practitioner", areas=("south",), username="sol-south-hub")
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=people["hub"]).status_code == 200

    not_manager = client.post(f"{API}/tasks/{task_id}/reassign", json={"username": "hollis-hub"},
                              headers=people["hub"])
    assert not_manager.status_code == 403
    for username in ("rowan-referrer", "sol-south-hub", "nobody-at-all"):
        refused = client.post(f"{API}/tasks/{task_id}/reassign", json={"username": username},
                              headers=people["manager"])
        assert refused.status_code == 400, username
        assert list(refused.get_json()["errors"]) == ["username"]
    missing = client.post(f"{API}/tasks/{task_id}/reassign", json={}, headers=people["manager"])
    assert missing.status_code == 400 and list(missing.get_json()["errors"]) == ["username"]

    moved = client.post(f"{API}/tasks/{task_id}/reassign", json={"username": "hollis-hub"},
                        headers=people["manager"])
    assert moved.status_code == 200 and moved.get_json()["assignee_id"] == user_id("hollis-hub")
    assert complete(client, people["hub"], task_id, {"decision": "allocate"}).status_code == 409
    assert complete(client, people["other_hub"], task_id, {"decision": "allocate"}).status_code == 200


def test_claiming_a_completed_task_is_a_conflict(client, people, referral):
    task_id = only_task(client, people["referrer"], "screen")["id"]
    assert complete(client, people["referrer"], task_id, SCREEN_DATA).status_code == 200
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=people["referrer"]).status_code == 409


def test_a_manager_cancels_a_pathway_and_its_tasks_close(client, people, referral):
    _, instance_id = referral
    refused = client.post(f"{API}/instances/{instance_id}/cancel", json={"reason": "Duplicate referral"},
                          headers=people["referrer"])
    assert refused.status_code == 403
    cancelled = client.post(f"{API}/instances/{instance_id}/cancel", json={"reason": "Duplicate referral"},
                            headers=people["manager"])
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert inbox(client, people["referrer"])["total"] == 0
    again = client.post(f"{API}/instances/{instance_id}/cancel", json={"reason": "again"}, headers=people["manager"])
    assert again.status_code == 409


# 7. Messages


def test_missing_episode_message_starts_the_return_interview(client, people, referral):
    case_id, _ = referral
    response = client.post(f"{API}/cases/{case_id}/messages", json={"name": "missing_episode"},
                           headers=people["missing"])
    assert response.status_code == 200
    [started] = response.get_json()
    assert (started["process_id"], started["status"], started["case_id"]) == ("missing_episode", "running", case_id)
    [task] = inbox(client, people["missing"])["tasks"]
    assert (task["element_id"], task["role"], task["instance_id"]) == \
        ("return_interview", "missing_coordinator", started["id"])
    assert [t["element_id"] for t in inbox(client, people["referrer"])["tasks"]] == ["screen"], \
        "the screening carries on alongside"
    assert complete(client, people["missing"], task["id"], {"offered_on": "2026-11-03"}).status_code == 200
    assert inbox(client, people["missing"])["total"] == 0


def test_a_message_nothing_listens_for_is_a_409_and_changes_nothing(client, people, referral):
    case_id, instance_id = referral
    stored = snapshot(instance_id)
    response = client.post(f"{API}/cases/{case_id}/messages", json={"name": "court_order"}, headers=people["missing"])
    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict" and "court_order" in response.get_json()["message"]
    assert snapshot(instance_id) == stored
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1
    assert inbox(client, people["missing"])["total"] == 0


# 8. No form contents in the audit trail


def test_history_audit_entries_hold_no_form_contents(client, people, referral):
    case_id, _ = referral
    decision = screened(client, people, case_id)
    assert complete(client, people["hub"], decision["id"],
                    {"decision": "other_services", "reason": HUB_REASON}).status_code == 200
    client.post(f"{API}/cases/{case_id}/messages", json={"name": "missing_episode",
                                                         "payload": {"seen_at": "Larkfield bus depot"}},
                headers=people["missing"])
    history = client.get(f"{API}/cases/{case_id}/history", headers=people["referrer"]).get_json()
    actions = [a["action"] for a in history["audit"]]
    assert actions.count("task.complete") == 2 and "message.deliver" in actions
    for entry in history["audit"]:
        assert set(entry) == {"at", "user_id", "action", "instance_id", "human_task_id", "detail"}, entry
    audit_text = json.dumps(history["audit"])
    for secret in (CONCERN, "Larkfield", "criminal", "other_services", "Robin Example"):
        assert secret not in audit_text, secret
