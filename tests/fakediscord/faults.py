"""Fault injection for the fake REST API: canned error replies, and requests that never answer."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/v10"

DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (50035, "Invalid Form Body"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (10003, "Unknown Channel"),
    405: (0, "405: Method Not Allowed"),
    429: (0, "You are being rate limited."),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
    503: (0, "503: Service Unavailable"),
    504: (0, "504: Gateway Timeout"),
}

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def compile_path_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """Compile a pattern matched (fully) against API paths like ``/channels/1/messages``.

    Accepts a compiled regex, a regex string, a concrete path, or a route template whose
    ``{placeholders}`` match any single path segment. A leading ``/api/v10`` is ignored.
    """
    if isinstance(pattern, re.Pattern):
        return pattern
    if pattern.startswith(API_PREFIX):
        pattern = pattern[len(API_PREFIX) :]
    if _PLACEHOLDER.search(pattern):
        parts = _PLACEHOLDER.split(pattern)
        return re.compile("[^/]+".join(re.escape(p) for p in parts))
    return re.compile(pattern)


@dataclass
class Fault:
    """One injected failure, consumed by the next ``times`` matching requests."""

    method: str | None
    pattern: re.Pattern[str]
    status: int
    code: int
    message: str
    times: int = 1
    retry_after: float = 0.05
    is_global: bool = False
    processed: bool = False
    """If true the request takes effect first (e.g. the message is created), then the error is
    returned: the "response lost" case that idempotency keys (nonces) exist for."""
    errors: dict[str, Any] | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.pattern.fullmatch(path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times <= 0

    def body(self) -> dict[str, Any]:
        if self.status == 429:
            limited: dict[str, Any] = {
                "message": self.message,
                "retry_after": self.retry_after,
                "global": self.is_global,
            }
            if self.code:
                limited["code"] = self.code
            return limited
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


@dataclass
class Hang:
    """Holds the reply to the next message create in a channel after the message was stored."""

    channel_id: int
    created: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    message_id: int | None = None
    armed: bool = True


class FaultPlan:
    """The faults and hangs a :class:`~tests.fakediscord.FakeDiscord` has been told to inject."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.hangs: list[Hang] = []
        self.latency: float = 0.0
        self.latency_pattern: re.Pattern[str] | None = None

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first pending fault matching the request, consumed once."""
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                fault.hits += 1
                return fault
        return None

    def pending(self) -> list[Fault]:
        return [f for f in self.faults if not f.exhausted]

    def take_hang(self, channel_id: int) -> Hang | None:
        for hang in self.hangs:
            if hang.armed and hang.channel_id == channel_id:
                hang.armed = False
                return hang
        return None

    def release_all(self) -> None:
        for hang in self.hangs:
            hang.armed = False
            hang.release.set()

    def clear(self) -> None:
        self.faults.clear()
        self.release_all()
        self.latency = 0.0
        self.latency_pattern = None
