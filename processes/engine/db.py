"""The SQLAlchemy handle shared by the service layer, the Flask app and the workers."""

from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Insert, MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite
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
