"""Values people write in the config file or a slash command, and how they are read (pure).

Each ``Annotated`` type below carries the one validator for its kind of value — durations
(``30s``, ``10m``, ``1h30m``), sizes (``1MiB``), Discord ids, names, time zones, crontab
lines, times of day — raising ``ValueError`` with a message a person can act on. The pydantic
models of the settings and of a subscription are built from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator

from bot.domain.text import kind

T = TypeVar("T")

MAX_SNOWFLAKE = 2**63 - 1
MAX_DURATION = timedelta(days=3650)
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
NO_LIMIT = frozenset({"none", "null", "no limit", "off"})


# --------------------------------------------------------------------------- parsers


def parse_duration(text: Any) -> timedelta:
    """``1s``, ``30s``, ``10m``, ``2h``, ``7d``, ``1w`` or combinations like ``1h30m``."""
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str):
        raise ValueError(f"expected a duration such as 30s, 10m, 2h or 7d, got {kind(text)}")
    compact = text.strip().lower()
    pos = 0
    seconds = 0
    for match in _DURATION.finditer(compact):
        if compact[pos : match.start()].strip():
            break
        seconds += int(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or compact[pos:].strip():
        raise ValueError(f"expected a duration such as 30s, 10m, 2h or 7d, got {text!r}")
    if seconds < 1:
        raise ValueError(f"must be at least 1s, got {text!r}")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"must be at most 3650d (ten years), got {text!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        size = int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    else:
        raise ValueError(f"expected a size in bytes such as 1048576 or 1MiB, got {kind(value)}")
    if size < 1024:
        raise ValueError(f"must be at least 1KiB, got {value!r}")
    return size


def format_size(size: int) -> str:
    """A size as people read it: ``5 MiB``, ``498.8 MiB``, ``900 bytes``."""
    mib = 1024 * 1024
    if size >= mib:
        return f"{size // mib} MiB" if size % mib == 0 else f"{size / mib:,.1f} MiB"
    return f"{size:,} bytes"


_PERCENT = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*%\s*$")


def parse_percent(value: Any) -> float:
    """A share written as a percentage, ``20%``, as a fraction (0.2)."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a percentage such as 20%, got {kind(value)}")
    share = float(match.group(1))
    if share > 100:
        raise ValueError(f"must be from 0% to 100%, got {value!r}")
    return share / 100


def format_percent(share: float) -> str:
    return f"{share * 100:g}%"


def parse_clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError(f"expected a time of day such as 22:00, got {kind(value)}")
    hours, minutes = (int(x) for x in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"expected a time of day such as 22:00, got {value!r}")
    return time(hours, minutes)


def snowflake(value: Any) -> int:
    """A Discord id: a positive integer (quoted or not)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SNOWFLAKE:
        raise ValueError(f"expected a Discord id (a positive whole number), got {kind(value)}")
    return value


def snowflakes(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of Discord ids, got {kind(value)}")
    return tuple(snowflake(item) for item in value)


def whole_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {kind(value)}")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {kind(value)}")
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return float(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {kind(value)}")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected text, got {kind(value)}")
    return value.strip()


def names(value: Any) -> tuple[str, ...]:
    """A list of names (topics, types, providers): whitespace collapsed, numbers as text."""
    if value is None:
        return ()
    if isinstance(value, str):
        raise ValueError(f"expected a list such as [AI, Robotics], got text {value!r}")
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list, got {kind(value)}")
    out = []
    for item in value:
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"expected a list of names, found {kind(item)}")
        out.append(" ".join(item.split()))
    return tuple(out)


def choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {kind(value)}")
        return value.strip().lower()

    return parse


def timezone(value: Any) -> str:
    name = text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from None
    return name


def cron(value: Any) -> str:
    from apscheduler.triggers.cron import CronTrigger  # validation only; imported on demand

    expression = text(value)
    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    return expression


def path(value: Any) -> Path:
    return value if isinstance(value, Path) else Path(text(value))


def optional(parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    def wrapped(value: Any) -> T | None:
        return None if value is None else parse(value)

    return wrapped


def no_limit_or(parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """None for null, or for ``none``/``off``/``no limit`` written out (slash commands)."""

    def wrapped(value: Any) -> T | None:
        if value is None or (isinstance(value, str) and value.strip().lower() in NO_LIMIT):
            return None
        return parse(value)

    return wrapped


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Percent = Annotated[float, BeforeValidator(parse_percent)]
Snowflake = Annotated[int, BeforeValidator(snowflake)]
OptionalSnowflake = Annotated[int | None, BeforeValidator(optional(snowflake))]
Snowflakes = Annotated[tuple[int, ...], BeforeValidator(snowflakes)]
Flag = Annotated[bool, BeforeValidator(boolean)]
Text = Annotated[str, BeforeValidator(text)]
Names = Annotated[tuple[str, ...], BeforeValidator(names)]
PathValue = Annotated[Path, BeforeValidator(path)]
TimeZone = Annotated[str, BeforeValidator(timezone)]
