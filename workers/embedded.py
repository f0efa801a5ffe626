"""The embedded scheduler: with no Redis, a thread in the web process runs the same sweep and jobs."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from processes.engine import scheduler

log = logging.getLogger(__name__)


class EmbeddedScheduler:
    """Sweeps every SWEEP_SECONDS in a daemon thread until stopped."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mace-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with self._app.app_context():
                try:
                    scheduler.sweep_here()  # it logs each job that failed, and carries on past it
                except BaseException as exc:  # keep sweeping: one failure must not end every timer
                    log.warning("sweep failed: %s", type(exc).__name__)
            self._stopping.wait(self._app.config["SWEEP_SECONDS"])

    def stop(self, timeout: float = 30) -> None:
        """Finish the sweep under way, if any, and end the thread."""
        self._stopping.set()
        self._thread.join(timeout)
