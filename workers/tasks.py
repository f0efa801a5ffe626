"""Celery tasks: the beat-driven sweep, and the one job per due item it enqueues. Messages carry ids only."""

from __future__ import annotations

import smtplib
from functools import cache

from flask import current_app
from redis import Redis
from sqlalchemy.exc import OperationalError

from processes.engine import scheduler

from .celery_app import celery

# Worth retrying: the database or mail relay was briefly unreachable. Anything else is a bug or an
# incident, and the next sweep finds the work again from the database in any case.
TRANSIENT = (OperationalError, smtplib.SMTPException, OSError)


@cache
def _redis() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"])


def _claim_key(job: str, item_id: int) -> str:
    return f"mace:queued:{job}:{item_id}"


def enqueue(job: str, ids: list[int]) -> None:
    """Send one message per id, except for ids whose job is already queued or running.

    The claim keys only save work: jobs are idempotent, so a duplicate that slips through changes
    nothing. A key expires with the broker's visibility timeout, after which a sweep finds a lost job
    again. Claims go in one pipeline and messages through one connection, so a sweep of a hundred
    items costs a few round trips, not hundreds.
    """
    ttl = current_app.config["JOB_VISIBILITY_SECONDS"]
    claims = _redis().pipeline(transaction=False)
    for item_id in ids:
        claims.set(_claim_key(job, item_id), 1, nx=True, ex=ttl)
    claimed = [item_id for item_id, won in zip(ids, claims.execute(), strict=True) if won]
    with celery.producer_or_acquire() as producer:
        for item_id in claimed:
            run_job.apply_async((job, item_id), producer=producer)


@celery.task(name="mace.sweep")
def sweep() -> dict[str, int]:
    return scheduler.sweep(enqueue)


# Short backoff only: a long countdown would sit unacknowledged in Redis past its visibility timeout.
@celery.task(name="mace.run_job", autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60,
             retry_jitter=True, max_retries=5)
def run_job(job: str, item_id: int) -> int:
    outcome = scheduler.run(job, item_id)
    _redis().delete(_claim_key(job, item_id))
    return outcome.done
