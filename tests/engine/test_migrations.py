"""Alembic migrations applied to a database that already holds cases: nothing open is left without alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from processes.engine import repository
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.identity import users as identity
from tests.support.factories import bundle, screen, start_case
from tests.support.tasks import open_task

BEFORE_ALERTS = "c9569bb59c7c"


def test_steps_open_before_alerts_existed_still_go_overdue(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "TESTING": True})
    with app.app_context():
        upgrade()
        identity.create_area("north", "North")
        referrer = Actor.of(identity.create_user("ref", "Ref", ["referrer"], ["north"]))
        repository.deploy(None, "screening", bundle("screening"))
        with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=False):
            case, _ = start_case(referrer, "screening", "Old Case")
            screen(referrer, case.id, concern="Messages")
        step_id = open_task(case.id, "hub_decision").id
        db.session.remove()

        downgrade(revision=BEFORE_ALERTS)
        upgrade()
        with db.engine.connect() as conn:
            due, alert = conn.execute(text("SELECT due_at, next_alert_at FROM human_tasks WHERE id = :id"),
                                      {"id": step_id}).one()
            done = conn.execute(text("SELECT next_alert_at FROM human_tasks WHERE status = 'completed'")).all()
        assert alert == due is not None, "an open step with a due time gets its overdue alert back"
        assert done == [(None,)], "completed steps need no alerts"
        db.session.remove()
        db.engine.dispose()
