"""The one place the service layer reads the time, always timezone-aware UTC."""

from datetime import UTC, datetime

__all__ = ["UTC", "aware", "now"]


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone columns; they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
