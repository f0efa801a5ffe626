"""The one place the service layer reads the time, always timezone-aware UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["LOCAL", "UTC", "aware", "now"]

# The zone people work in: a due date means the end of that day here, and a time without an offset is local.
LOCAL = ZoneInfo("Europe/London")


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone columns; they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
