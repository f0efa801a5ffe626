"""Web test support: the test password, a signed-in Flask test client, reading CSRF tokens and error lists, and
serving the app on loopback."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

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


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The app on a free loopback port, served by werkzeug in a thread of this process (so time_machine moves
    its clock too); yields its URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
