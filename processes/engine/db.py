"""The SQLAlchemy handle shared by the service layer, the Flask app and the workers, and SQLite's connection setup."""

import sqlite3
from contextvars import ContextVar
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Insert, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

# Every time is stored timezone-aware (UTC).
Timestamp = DateTime(timezone=True)


def insert_once(table: Table, row: dict[str, Any], keys: list[str]) -> Insert:
    """INSERT that does nothing when a row with the same `keys` exists (PostgreSQL and SQLite alike).

    Inline, so it asks for nothing back: queued, it travels in psycopg's pipeline with the commit.
    """
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(**row).on_conflict_do_nothing(index_elements=keys).inline()


# Set while a change's transaction begins (see transaction.atomic): on SQLite it then takes the write lock first.
writing: ContextVar[bool] = ContextVar("writing", default=False)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while a writer commits; the busy timeout makes writers queue, not fail.
    if isinstance(dbapi_connection, sqlite3.Connection):
        # pysqlite starts transactions only at the first write, so reads before it would see no
        # snapshot and a stale read could be written back; we emit BEGIN ourselves (SQLAlchemy recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Connection) -> None:
    # A change begun as a reader fails at once, busy timeout or not, when it comes to write after another
    # writer committed (SQLITE_BUSY_SNAPSHOT): under load that was a 500. Taking the write lock at BEGIN
    # makes such writers wait their turn in the busy timeout instead; reads still begin unlocked.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing.get() else "BEGIN")
