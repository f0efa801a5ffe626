"""The pathway services' settings, passed in once at start-up (by the app factory, a worker or a bench).

Services read `current()`, never Flask's `current_app.config`, so they run the same under the CLI,
Celery, a bench or a test, with or without a Flask request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Smtp:
    """The mail relay for alert emails; no host means email is off and alerts are in-app only."""

    host: str | None = None
    port: int = 25
    sender: str = "mace@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class Settings:
    """What the pathway's services need to know of where and how they run."""

    pathway_key: str = "mace"
    base_url: str | None = None  # where users reach the app; unset, emails carry no link
    reminder_working_days: int = 1
    escalation_working_days: int = 3
    job_visibility_seconds: int = 300
    smtp: Smtp = field(default_factory=Smtp)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Settings:
        """From the app's configuration (`app/config.py` reads the environment into it)."""
        return cls(
            pathway_key=config["PATHWAY_KEY"], base_url=config["BASE_URL"],
            reminder_working_days=config["REMINDER_WORKING_DAYS"],
            escalation_working_days=config["ESCALATION_WORKING_DAYS"],
            job_visibility_seconds=config["JOB_VISIBILITY_SECONDS"],
            smtp=Smtp(host=config["SMTP_HOST"], port=config["SMTP_PORT"], sender=config["SMTP_FROM"],
                      username=config["SMTP_USERNAME"], password=config["SMTP_PASSWORD"],
                      starttls=config["SMTP_STARTTLS"]),
        )


_current = Settings()


def configure(settings: Settings) -> None:
    """Set the settings every pathway service reads from now on in this process."""
    global _current
    _current = settings


def current() -> Settings:
    return _current
