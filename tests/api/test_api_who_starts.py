"""Who may start a case's pathway and deliver its messages through the API, and one running pathway per case."""

import pytest
from sqlalchemy import func, select

from processes.engine.db import db
from processes.engine.models import ProcessInstance
from processes.engine.permissions import INSTANCE_START, MESSAGE_DELIVER
from processes.identity import users as identity
from processes.mace import policy
from processes.mace.roles import ROLES
from tests.support.factories import BOTH_AREAS

API = "/api/v1"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(make_people, deploy):
    """Authorization headers for one user of every role, in both areas, with the screening pathway deployed."""
    deploy("screening")
    return {role: {"Authorization": f"Bearer {identity.create_token(actor.username)}"}
            for role, actor in make_people(every_role=BOTH_AREAS).items()}


def new_case(client, tokens) -> int:
    created = client.post(f"{API}/cases", json={"area": "north", "child_name": "Robin Example"},
                          headers=tokens["referrer"])
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def instances(case_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessInstance)
                             .where(ProcessInstance.case_id == case_id))


def test_only_the_roles_the_policy_names_start_the_pathway(client, tokens):
    case_id = new_case(client, tokens)
    starters = set(policy.roles_with(INSTANCE_START))
    assert starters == {"referrer"}
    for role in set(ROLES) - starters:
        refused = client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"}, headers=tokens[role])
        assert refused.status_code == 403, role
        assert refused.get_json() == {"code": "forbidden", "message": "Only referrer can start a pathway."}
    assert instances(case_id) == 0, "no refused start left an instance behind"
    started = client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"}, headers=tokens["referrer"])
    assert started.status_code == 201


def test_a_second_running_pathway_for_the_same_child_is_a_409(client, tokens):
    case_id = new_case(client, tokens)
    first = client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"}, headers=tokens["referrer"])
    assert first.status_code == 201
    again = client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"}, headers=tokens["referrer"])
    assert again.status_code == 409
    assert again.get_json() == {"code": "conflict", "message": f"Case {case_id} already has a running pathway "
                                                               f"(instance {first.get_json()['id']}); "
                                                               "nothing was started."}
    assert instances(case_id) == 1
    cancelled = client.post(f"{API}/instances/{first.get_json()['id']}/cancel", json={"reason": "Duplicate"},
                            headers=tokens["team_manager"])
    assert cancelled.status_code == 200
    assert client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"},
                       headers=tokens["referrer"]).status_code == 201, "once it stopped, it may start again"


def test_a_missing_episode_runs_beside_the_pathway_and_does_not_stop_it_starting(client, tokens):
    case_id = new_case(client, tokens)
    episode = client.post(f"{API}/cases/{case_id}/messages", json={"name": "missing_episode", "key": "screening"},
                          headers=tokens["missing_coordinator"])
    assert episode.status_code == 200, episode.get_json()
    assert [i["process_id"] for i in episode.get_json()] == ["missing_episode"]
    started = client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"}, headers=tokens["referrer"])
    assert started.status_code == 201, started.get_json()


def test_only_the_roles_the_policy_names_deliver_messages(client, tokens):
    case_id = new_case(client, tokens)
    assert client.post(f"{API}/cases/{case_id}/instances", json={"key": "screening"},
                       headers=tokens["referrer"]).status_code == 201
    senders = set(policy.roles_with(MESSAGE_DELIVER))
    assert senders == {"referrer", "allocated_worker", "missing_coordinator"}
    for role in set(ROLES) - senders:
        refused = client.post(f"{API}/cases/{case_id}/messages", json={"name": "missing_episode"},
                              headers=tokens[role])
        assert refused.status_code == 403, role
        assert refused.get_json()["code"] == "forbidden"
    assert instances(case_id) == 1, "no refused message started the missing episode"
    for role in sorted(senders):
        delivered = client.post(f"{API}/cases/{case_id}/messages", json={"name": "missing_episode"},
                                headers=tokens[role])
        assert delivered.status_code == 200, role
    assert instances(case_id) == 1 + len(senders)

