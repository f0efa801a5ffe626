"""Fictional demo data for a local run: areas, one user per role, the pathway and a few cases."""

from __future__ import annotations

from pathlib import Path

from . import authentication, bundle_files, cases, identity, repository, runtime
from .db import db
from .models import User
from .roles import ROLES
from .transaction import atomic

AREAS = {"north": "Northshire North", "south": "Northshire South"}
ROOT = Path(__file__).resolve().parent.parent
PATHWAY_FOLDERS = (ROOT / "bpmn", ROOT / "forms")
# Invented names only: nothing here may come from the seed documents.
CHILDREN = [("Alex Example", "north"), ("Sam Sample", "north"), ("Jo Placeholder", "south")]
# Every demo user signs in to the web app with it; fictional data only, never for a real deployment.
DEMO_PASSWORD = "demo-password-not-secret"  # noqa: S105 (published in the README on purpose)


@atomic
def seed(pathway_key: str) -> dict[str, str] | None:
    """Create the demo data once, in one transaction.

    Returns each demo user's new API token, or None if already seeded.
    """
    if db.session.query(User.id).first() is not None:
        return None
    for code, name in AREAS.items():
        identity.create_area(code, name)
    tokens = {}
    for role, label in ROLES.items():
        username = f"demo-{role.replace('_', '-')}"
        identity.create_user(username, f"Demo {label.lower()}", [role], list(AREAS), f"{username}@example.org")
        authentication.set_password(username, DEMO_PASSWORD)
        tokens[username] = identity.create_token(username, "demo")
    repository.deploy(None, pathway_key, bundle_files.read_folder(*PATHWAY_FOLDERS))
    referrer = identity.Actor.of(identity.get_user("demo-referrer"))
    for child, area in CHILDREN:
        case = cases.create(referrer, area, child)
        runtime.start(referrer, case.id, pathway_key)
    return tokens
