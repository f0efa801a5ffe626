"""The Celery application: Redis as broker, the beat schedule, and a Flask app context around every task."""

from __future__ import annotations

from celery import Celery, Task
from celery.signals import worker_process_init

from app import create_app
from processes.engine.db import db

# Workers and beat never sweep in a thread of their own: beat schedules the sweep for them.
flask_app = create_app({"SCHEDULER": "off"})
if not flask_app.config["REDIS_URL"]:
    raise RuntimeError("REDIS_URL must be set to run Celery workers or beat; without it, `make run` sweeps in process.")


class AppContextTask(Task):
    def __call__(self, *args, **kwargs):
        with flask_app.app_context():
            return super().__call__(*args, **kwargs)


celery = Celery("mace", task_cls=AppContextTask, include=["workers.tasks"])
celery.conf.update(
    broker_url=flask_app.config["REDIS_URL"],
    broker_connection_retry_on_startup=True,
    # Messages hold ids only, as JSON; results are not kept (the database is the record).
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    # At least once: a job is acknowledged only when done, and a killed worker's job is delivered again.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_transport_options={"visibility_timeout": flask_app.config["JOB_VISIBILITY_SECONDS"]},
    # A sweep not started within one interval is dropped: the next one finds the same work.
    beat_schedule={"sweep": {"task": "mace.sweep", "schedule": float(flask_app.config["SWEEP_SECONDS"]),
                             "options": {"expires": float(flask_app.config["SWEEP_SECONDS"])}}},
    timezone="UTC",
)


@worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    """A forked pool process must not share the parent's database connections."""
    with flask_app.app_context():
        db.engine.dispose(close=False)
