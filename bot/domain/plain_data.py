"""Plain data: YAML values as JSON-safe values, timestamps as the source format writes them."""

from __future__ import annotations

import base64
import math
from datetime import UTC, date, datetime
from typing import Any


def jsonable(value: Any) -> Any:
    """Turn a YAML value into plain JSON data (timestamps become ISO-8601 text)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return format_timestamp(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with a 'Z', as the source format writes it (seconds, or microseconds)."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
