"""How a command ends, whatever ends it: one line on stderr and an exit status.

* SIGINT or SIGTERM: the running command is cancelled once — its cleanup runs (parse workers
  killed and reaped, a batch being written finished or rolled back, the database closed) —
  then ``newsdesk: interrupted``, exit status 130 or 143. Further signals during that cleanup
  are ignored: it is short, and cutting it would leave processes behind.
* The reader of stdout went away (``newsdesk export | head``): exit status 141, nothing on
  stderr (what is left to write goes nowhere).
* The system refused a write (a full disk, say): the file (or ``output``) and why, exit
  status 1.

Imported first by ``bot.__main__``, before anything heavy, so that these rules hold from the
first moment; it imports only the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any

from bot.log import discard
from bot.stopping import STOP_SIGNALS, StopSignals

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

# What a write meets when the system refuses it (not a bug): said in one line, status 1.
_WRITE_REFUSED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.EPIPE})


def cannot_write(exc: OSError) -> bool:
    return isinstance(exc, BrokenPipeError) or exc.errno in _WRITE_REFUSED


class Interrupted(BaseException):
    """A stop signal arrived; like KeyboardInterrupt, not an error of the command."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def say(text: str) -> None:
    """One line on stderr, prefixed ``newsdesk:``; never fails (stderr may be gone too)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"newsdesk: {text}", file=sys.stderr, flush=True)


def guard(command: Callable[[], int]) -> int:
    """Run a whole command; turn signals and a closed stdout into their exit statuses."""
    # SIGINT too raises Interrupted, never KeyboardInterrupt: CPython remembers a
    # KeyboardInterrupt that escaped an exec() of a string (dataclasses make their methods so,
    # at import time) and, at exit, kills the process with SIGINT whatever status we return.
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_interrupted)
    try:
        code = command()
        sys.stdout.flush()  # here, not at exit, where a failure would only be "ignored"
        return code
    except Interrupted as exc:
        say("interrupted")
        return 128 + exc.signum
    except KeyboardInterrupt:
        say("interrupted")
        return 128 + signal.SIGINT
    except BrokenPipeError:
        discard(sys.stdout)
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # the system refused: a full disk, a file that cannot be written
        say(f"{exc.filename or 'output'}: {exc.strerror or str(exc) or type(exc).__name__}")
        discard(sys.stdout)
        return EXIT_REJECTED
    finally:
        # The command is over and its status decided; the interpreter resets its handlers to
        # the defaults while it shuts down, and a late Ctrl-C would then kill it silently.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()


def run_async(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """``asyncio.run(main())``; the first SIGINT or SIGTERM cancels ``main`` (its cleanup runs)
    and then raises :class:`Interrupted` for :func:`guard` to report."""
    signals = StopSignals()

    async def runner() -> int:
        task = asyncio.current_task()
        assert task is not None
        signals.attach(lambda: _cancel(task))
        try:
            return await main()
        except asyncio.CancelledError:
            if signals.first is not None:
                return 128 + signals.first
            raise

    code = asyncio.run(runner())
    if signals.first is not None:
        raise Interrupted(signals.first)
    return code
