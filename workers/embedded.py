"""The embedded scheduler: with no Redis, a thread in the web process runs the same sweep and jobs."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from processes import scheduler

log = logging.getLogger(__name__)


def start(app: Flask) -> threading.Event:
    """Sweep every SWEEP_SECONDS in a daemon thread until the returned event is set."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with app.app_context():
                try:
                    scheduler.sweep_here()
                except Exception as exc:  # keep sweeping: a database blip must not end reminders for good
                    log.warning("sweep failed: %s", type(exc).__name__)
            stop.wait(app.config["SWEEP_SECONDS"])

    threading.Thread(target=loop, name="mace-scheduler", daemon=True).start()
    return stop
