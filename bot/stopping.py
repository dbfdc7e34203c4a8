"""How SIGINT and SIGTERM reach a running command (the CLI's commands and ``newsdesk run``).

Standard library only: ``bot.__main__`` imports it (through bot.cli.process) before anything
heavy.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT and SIGTERM, handled for the rest of the process by a callback.

    Installed with the signal module, not asyncio's add_signal_handler: asyncio resets the
    handlers to the defaults when its loop closes, and a SIGTERM arriving then would kill the
    process without a word. These handlers stay: a signal arriving before the loop runs or
    after it closed is still seen (and ``first`` remembers it).
    """

    def __init__(self) -> None:
        self.first: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_stop: Callable[[], None] | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.first is not None:
            return  # stopping already: the cleanup is short, let it finish
        self.first = signum
        loop, on_stop = self.loop, self.on_stop
        if loop is not None and on_stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(on_stop)

    def attach(self, on_stop: Callable[[], None]) -> None:
        """Call ``on_stop`` in the running loop at the first signal (now, if one came)."""
        self.loop = asyncio.get_running_loop()
        self.on_stop = on_stop
        if self.first is not None:
            self.loop.call_soon(on_stop)
