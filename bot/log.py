"""Logging, configured once at start-up: plain text or JSON lines, to one stream."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

_QUIET = {
    "discord.http": logging.WARNING,
    "discord.gateway": logging.WARNING,
    "discord.client": logging.WARNING,
    "apscheduler.executors": logging.WARNING,
    "apscheduler.scheduler": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "asyncio": logging.WARNING,
}
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Libraries log expected network trouble (a gateway that dropped, a reconnect) with its
# traceback; for those, one line says enough.
_LIBRARIES = ("discord", "aiohttp", "apscheduler")


def _network_trouble(exc: BaseException) -> bool:
    module = type(exc).__module__
    return isinstance(exc, OSError | TimeoutError) or module.startswith(("aiohttp", "discord"))


class CondenseLibraryTracebacks(logging.Filter):
    """A library's record about network trouble keeps its message and the exception's name
    and text, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and record.name.startswith(_LIBRARIES) and _network_trouble(exc):
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra=`` fields (guild_id, channel_id, ...) become keys."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, int | float | str | bool | None) else str(value)
                )
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` with the ``extra=`` fields appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = [
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _RESERVED and not k.startswith("_")
        ]
        if extras:
            first, sep, rest = text.partition("\n")
            text = f"{first} [{' '.join(extras)}]{sep}{rest}"
        return text


class WithIds(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger whose records carry ids (guild, channel, subscription, article...) as fields;
    ``extra=`` given to one call adds to them."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


def with_ids(logger: logging.Logger, **ids: object) -> WithIds:
    return WithIds(logger, ids)


def discard(stream: IO[str]) -> IO[str] | io.TextIOBase:
    """Send what is still written to ``stream`` to /dev/null: at its file descriptor when it
    has one (so that the interpreter's last flush of stdout cannot fail either), else by
    handing back a stream that writes nowhere, to use instead."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
            return stream
        finally:
            os.close(devnull)
    return _Nowhere()


class _Nowhere(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


class StreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Once its stream cannot be written (``newsdesk run | head`` after head exits, a full
    disk), the log goes nowhere, instead of "--- Logging error ---" and a traceback on
    stderr for every record that follows."""

    def handleError(self, record: logging.LogRecord) -> None:
        failure = sys.exc_info()[1]
        # A ValueError is "I/O operation on closed file" only when the stream is closed;
        # otherwise it is a bad format string, reported as usual, and the log goes on.
        closed = isinstance(failure, ValueError) and getattr(self.stream, "closed", False)
        if isinstance(failure, OSError) or closed:
            self.stream = discard(self.stream)
            return
        super().handleError(record)


def setup_logging(level: str = "INFO", stream: IO[str] | None = None, fmt: str = "plain") -> None:
    """Send every log record to ``stream`` (stderr by default) in the chosen format."""
    handler = StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    handler.addFilter(CondenseLibraryTracebacks())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, logging.getLevelName(level)))
