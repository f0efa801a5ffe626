"""Helpers the benchmarks share: timing, the database they run against, migration and printing results."""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
from pathlib import Path

import requests
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData, text

from app import create_app
from app.config import database_url
from processes.engine.db import db

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="emptied first (every bench starts from a fresh database): give it one of its own")
    # Every bench now starts fresh; the old flag is still accepted so commands written with it keep working.
    parser.add_argument("--fresh", action="store_true", help=argparse.SUPPRESS)


def database_uri(url: str | None, prefix: str) -> str:
    """The SQLAlchemy URL to run against: the given one (also exported as DATABASE_URL, so processes the
    bench starts see it), or else a fresh SQLite file in a new temporary folder."""
    if url:
        os.environ["DATABASE_URL"] = url
        return database_url(ROOT / "instance")
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix=prefix)) / 'bench.db'}"


def fresh_database() -> None:
    """Empty the database, then apply every migration, in an app context.

    Each bench starts from a fresh database, so nothing an earlier run or another bench left behind (rows, due
    work, planner statistics) counts in its figures: on PostgreSQL the public schema is
    dropped and recreated; on SQLite, a temporary file is new already and a file given by URL loses its tables.
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        tables = MetaData()
        tables.reflect(bind=db.engine)
        tables.drop_all(bind=db.engine)
    upgrade()


def analyze(*tables: str) -> None:
    """PostgreSQL: statistics as autovacuum would keep them after a bulk load (of these tables, or all)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"ANALYZE {', '.join(tables)}"))


def print_results(results: dict[str, object]) -> None:
    """One name=value per line, floats to two places."""
    for name, value in results.items():
        print(f"{name}={value:.2f}" if isinstance(value, float) else f"{name}={value}", flush=True)


def app_for(uri: str, **config: object) -> Flask:
    """The app against `uri`, with any other configuration given."""
    return create_app({"SQLALCHEMY_DATABASE_URI": uri, **config})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not come up at {url}")
