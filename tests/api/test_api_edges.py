"""The API's edges: headers on every answer, refused control characters, size and depth limits, sane dates."""

import pytest

from app import create_app
from processes.identity import users as identity

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
