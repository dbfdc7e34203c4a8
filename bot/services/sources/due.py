"""Which sources are due, as this process knows it: a look costs no I/O, so the bot can look
every second; a source this process has not polled yet is due (its stored next fetch, after a
restart, is weighed by the poller)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


S = TypeVar("S", bound=_Keyed)


class DueTimes:
    def __init__(self) -> None:
        self._at: dict[str, datetime | None] = {}  # source key -> next fetch (None: disabled)

    def due(self, sources: Sequence[S], now: datetime) -> list[S]:
        return [
            source
            for source in sources
            if source.key not in self._at
            or ((at := self._at[source.key]) is not None and at <= now)
        ]

    def set(self, key: str, at: datetime | None) -> None:
        self._at[key] = at

    def forget(self, key: str) -> None:
        self._at.pop(key, None)
