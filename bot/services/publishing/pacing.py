"""One run's pace: ``publishing.pace`` between any two requests that change the channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta


class Pacer:
    """Shared by a run's edits and posts, so that the first post after an edit waits too."""

    def __init__(self, pace: timedelta, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.pace = pace
        self.sleep = sleep
        self.started = False

    async def wait(self) -> None:
        """Before each request: nothing before the first, the pace before every other."""
        if self.started:
            await self.sleep(self.pace.total_seconds())
        self.started = True
