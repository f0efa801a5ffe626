"""Repository service: validate and deploy bundles as numbered versions, and list them."""

from __future__ import annotations

import hashlib
import json
import re

from sqlalchemy import func, select

from processes.engine import audit, validation
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import BundleInvalid, InvalidInput, NotFound
from processes.engine.models import ProcessDefinition
from processes.engine.permissions import DEFINITION_DEPLOY
from processes.engine.transaction import atomic

KEY_PATTERN = r"^[a-z][a-z0-9_-]{0,99}$"
KEY_RULE = "Use lower-case letters, digits, '-' and '_', starting with a letter (at most 100)."


def content_hash(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


@atomic
def deploy(actor: Actor | None, key: str, files: dict[str, str]) -> tuple[ProcessDefinition, bool]:
    """Deploy a bundle as the next version of `key`; returns (definition, created).

    Deploying the same content as the latest version changes nothing. Nothing is deployed if any
    problem is found: every problem is raised together in BundleInvalid.
    """
    if actor is not None:
        actor.require(DEFINITION_DEPLOY, "deploy pathway definitions")
    if not re.fullmatch(KEY_PATTERN, key):
        raise InvalidInput("Nothing was deployed.", {"key": [KEY_RULE]})
    digest = content_hash(files)
    latest = latest_version(key)
    if latest is not None and latest.content_hash == digest:
        return latest, False
    problems, parsed = validation.validate(files, key)
    if problems:
        raise BundleInvalid(problems)
    definition = ProcessDefinition(
        key=key, version=(latest.version + 1) if latest else 1, content_hash=digest,
        entry_process_id=parsed.entry_process_id, files=files,
        deployed_by_id=actor.id if actor else None, deployed_at=now(),
    )
    db.session.add(definition)
    db.session.flush()
    audit.record(actor, "definition.deploy", detail=f"{key} v{definition.version}")
    return definition, True


def latest_version(key: str) -> ProcessDefinition | None:
    return db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc()).limit(1)
    )


def require_latest(key: str) -> ProcessDefinition:
    definition = latest_version(key)
    if definition is None:
        raise NotFound(f"No pathway definition '{key}' is deployed.")
    return definition


def list_versions(key: str | None = None) -> list[ProcessDefinition]:
    query = select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    if key:
        query = query.where(ProcessDefinition.key == key)
    return list(db.session.scalars(query))


def count() -> int:
    return db.session.scalar(select(func.count(ProcessDefinition.id))) or 0
