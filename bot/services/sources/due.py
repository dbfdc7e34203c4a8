"""Which sources are due, as this process knows it: a look costs no I/O, so the bot can look
every second; a source this process has not polled yet is due (its stored next fetch, after a
restart, is weighed by the poller)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.settings import SourceSettings


class DueTimes:
    def __init__(self) -> None:
        self._at: dict[str, datetime | None] = {}  # source key -> next fetch (None: disabled)

    def due(self, sources: Sequence[SourceSettings], now: datetime) -> list[SourceSettings]:
        return [
            source
            for source in sources
            if source.key not in self._at
            or ((at := self._at[source.key]) is not None and at <= now)
        ]

    def set(self, key: str, at: datetime | None) -> None:
        self._at[key] = at
