"""Web test support: the test password, a signed-in Flask test client, and reading CSRF tokens and error lists."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from processes.identity import authentication

PASSWORD = "web-test-password"


def csrf_token(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def errors_listed(response) -> dict[str, str]:
    """The error summary's links: field id -> message."""
    return dict(re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', response.get_data(as_text=True)))


def signed_in_client(app: Flask, username: str) -> FlaskClient:
    """A test client signed in as this existing user, whose password is set to PASSWORD."""
    authentication.set_password(username, PASSWORD)
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    response = client.post("/sign-in", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
