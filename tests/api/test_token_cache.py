"""API tokens' actors are cached briefly per process: a change made here holds at once, one made elsewhere in time."""

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, delete, update

from processes.engine.db import db
from processes.identity import token_cache
from processes.identity.models import ApiToken, UserArea
from tests.api.test_api import API, assert_unauthenticated, headers


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cache_for(app):
    """Set the cache's bound for one test; the app's own setting afterwards."""
    yield token_cache.configure
    token_cache.configure(app.config["API_TOKEN_CACHE_SECONDS"])


def open_case(client, auth) -> str:
    created = client.post(f"{API}/cases", json={"area": "north", "child_name": "Robin Example"}, headers=auth)
    assert created.status_code == 201, created.json
    return f"{API}/cases/{created.json['id']}"


def test_an_area_taken_away_here_holds_at_the_next_request(client, make_actor):
    referrer = make_actor("referrer")
    auth = headers(referrer)
    case = open_case(client, auth)
    assert client.get(case, headers=auth).status_code == 200  # the actor is cached now

    db.session.execute(delete(UserArea).where(UserArea.user_id == referrer.id))
    db.session.commit()
    assert client.get(case, headers=auth).status_code in (403, 404), "a cached actor kept an area taken away"


def test_a_token_revoked_by_another_process_is_refused_within_the_bound(client, make_actor, database_uri, cache_for):
    cache_for(1)
    auth = headers(make_actor("referrer"))
    assert client.get(f"{API}/tasks", headers=auth).status_code == 200
    elsewhere = create_engine(database_uri)  # another server process's connection: none of this session's events
    with elsewhere.begin() as conn:
        conn.execute(update(ApiToken).values(revoked_at=datetime.now(UTC)))
    elsewhere.dispose()
    time.sleep(1.05)
    assert_unauthenticated(client.get(f"{API}/tasks", headers=auth))


def test_with_the_cache_off_a_revocation_elsewhere_holds_at_once(client, make_actor, database_uri, cache_for):
    cache_for(0)
    auth = headers(make_actor("referrer"))
    assert client.get(f"{API}/tasks", headers=auth).status_code == 200
    elsewhere = create_engine(database_uri)
    with elsewhere.begin() as conn:
        conn.execute(update(ApiToken).values(revoked_at=datetime.now(UTC)))
    elsewhere.dispose()
    assert_unauthenticated(client.get(f"{API}/tasks", headers=auth))
