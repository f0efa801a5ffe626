"""Celery tasks: the beat-driven sweep, and the one job per due item it enqueues. Messages carry ids only."""

from __future__ import annotations

import smtplib
from functools import cache

from flask import current_app
from redis import Redis
from sqlalchemy.exc import OperationalError

from processes import scheduler

from .celery_app import celery

# Worth retrying: the database or mail relay was briefly unreachable. Anything else is a bug or an
# incident, and the next sweep finds the work again from the database in any case.
TRANSIENT = (OperationalError, smtplib.SMTPException, OSError)


@cache
def _redis() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"])


def _claim_key(job: str, item_id: int) -> str:
    return f"mace:queued:{job}:{item_id}"


def _enqueue(job: str, item_id: int) -> None:
    """Send a job unless one for the same item is already queued or running.

    Only saves work: jobs are idempotent, so a duplicate that slips through changes nothing. The key
    expires with the broker's visibility timeout, after which a lost job is found by a sweep again.
    """
    if _redis().set(_claim_key(job, item_id), 1, nx=True, ex=current_app.config["JOB_VISIBILITY_SECONDS"]):
        run_job.delay(job, item_id)


@celery.task(name="mace.sweep")
def sweep() -> dict[str, int]:
    return scheduler.sweep(_enqueue)


# Short backoff only: a long countdown would sit unacknowledged in Redis past its visibility timeout.
@celery.task(name="mace.run_job", autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60,
             retry_jitter=True, max_retries=5)
def run_job(job: str, item_id: int) -> int:
    outcome = scheduler.run(job, item_id)
    _redis().delete(_claim_key(job, item_id))
    return outcome.done
