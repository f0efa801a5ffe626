"""The audit table is append-only: the ORM refuses changes on both databases, and on PostgreSQL a trigger
refuses raw SQL UPDATE, DELETE and TRUNCATE too, whoever sends them; only an erasure's stripping of free text
passes (tests/pathway/test_retention.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from processes.engine import audit
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.engine.transaction import atomic


@atomic
def _one_row() -> None:
    audit.record(None, "case.view", case_id=7)


def test_the_orm_refuses_to_change_or_delete_an_audit_row():
    _one_row()
    row = db.session.scalar(select(AuditEvent))
    row.action = "case.create"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(AuditEvent)))
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("sql", ["UPDATE audit_events SET action = 'case.create'", "DELETE FROM audit_events",
                                 "TRUNCATE audit_events", "UPDATE audit_events SET detail = 'rewritten'",
                                 # an erasure may strip free text, and only that: not with any other change
                                 "UPDATE audit_events SET detail = NULL, case_id = 8"])
def test_raw_sql_cannot_change_the_audit_table_on_postgresql(sql):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; SQLite keeps the ORM hook (tested above)")
    _one_row()
    with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(sql))
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "case.view", AuditEvent.case_id == 7)).scalar() == 1
