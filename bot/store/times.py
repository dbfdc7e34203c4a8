"""Times as the database stores them: UTC ISO-8601 text of a fixed width (text order is time
order). No I/O here: parse workers import it to build rows."""

from __future__ import annotations

from datetime import UTC, datetime


def db_time(moment: datetime) -> str:
    """A timestamp as stored: UTC, fixed width, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:26] + "Z"


def parse_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def optional_db_time(text: str | None) -> datetime | None:
    """A nullable timestamp column: None for NULL (or empty)."""
    return parse_db_time(text) if text else None


def utcnow() -> datetime:
    return datetime.now(UTC)
