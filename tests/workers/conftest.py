"""Fixtures the worker tests share: the real Redis, and Celery workers and beats on the test's database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.services import DEFAULT_REDIS_URL, Celery, clean_queue, redis_reachable, skip_or_fail


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The shared Redis (REDIS_URL, else database 15 on the local server), with an empty queue."""
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if not redis_reachable(url):
        where = urlsplit(url)  # host and port only: a URL may carry a password
        skip_or_fail(f"Redis is not reachable at {where.hostname}:{where.port or 6379}; "
                     "start redis-server or set REDIS_URL")
    clean_queue(url)
    yield url
    clean_queue(url)  # the workers are stopped by now (their fixture was set up after this one)


@pytest.fixture
def start_celery(ctx, tmp_path, database_uri) -> Iterator[Callable[..., Celery]]:
    """Workers and beats on the test's own database. All of them are stopped before `ctx` empties the
    tables (it was set up first, so it is torn down last) and before any Redis fixture cleans up."""
    started: list[Celery] = []

    def start(redis_url: str, **settings: str | int) -> Celery:
        workdir = tmp_path / f"celery-{len(started) + 1}"
        workdir.mkdir()
        started.append(Celery(workdir, database_uri, redis_url, **settings))
        return started[-1]

    yield start
    for celery in started:
        celery.stop_all()
