"""Parse worker processes: chunks of files go out, their results come back in the order given.

Why child processes of our own instead of ``ProcessPoolExecutor``: an executor's workers share
one result pipe, and a worker blocked writing a large result into it, after the parent stopped
reading (an interrupted ingest), never ends; the parent then hangs in ``waitpid`` for it, and
its workers outlive it. Here every worker has its own pipes, and every way out of the pool
ends the same way:

* each worker's results are read all the time by a task of its own, so no worker ever blocks
  on a full pipe, and the parent never waits for a result nobody will send;
* normal end: the workers' stdin is closed, they finish and exit;
* anything else (an exception, a cancellation on SIGINT or SIGTERM, a worker that died): every
  worker is killed, then reaped, before the pool is left;
* workers run in their own process group and ignore SIGINT, so a Ctrl-C reaches only the
  parent, which decides; if the parent is killed outright, the workers read the end of their
  stdin and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import bot
from bot.services.ingest.worker import HEADER, FeedTask, ParseTask, frame

Label = TypeVar("Label")

CHUNKS_IN_FLIGHT = 8  # per worker: enough queued work to cover one batch write
STOP_TIMEOUT = 5.0  # seconds a worker has to exit after its stdin closed
PACKAGE_ROOT = str(Path(bot.__file__).resolve().parent.parent)
_WORKER = (
    "import sys; from bot.services.ingest.worker import serve; sys.exit(serve(int(sys.argv[1])))"
)


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


class WorkerDied(Exception):
    """A parse worker ended before it sent the results of its work."""

    def __init__(self, returncode: int | None) -> None:
        self.returncode = returncode
        super().__init__(f"a parse worker died ({describe_exit(returncode)})")


@dataclass(slots=True)
class _Worker:
    process: asyncio.subprocess.Process
    frames: asyncio.Queue[bytes | None]
    reader: asyncio.Task[None]
    in_flight: int = 0


async def _read_frames(stream: asyncio.StreamReader, out: asyncio.Queue[bytes | None]) -> None:
    """Every frame the worker sends, as it arrives; None once the worker is gone."""
    try:
        while True:
            header = await stream.readexactly(HEADER.size)
            out.put_nowait(await stream.readexactly(HEADER.unpack(header)[0]))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        out.put_nowait(None)


class ParsePool:
    """``async with ParsePool(2, cap) as pool: async for label, results in pool.map(...)``:
    a FileResult for each ParseTask, a FeedDocument for each FeedTask (worker.parse_chunk)."""

    def __init__(
        self, size: int, max_article_bytes: int, *, in_flight: int = CHUNKS_IN_FLIGHT
    ) -> None:
        self.size = max(1, size)
        self.max_article_bytes = max_article_bytes
        self.in_flight = in_flight
        self._workers: list[_Worker] = []

    async def __aenter__(self) -> ParsePool:
        try:
            for _ in range(self.size):
                self._workers.append(await self._start())
        except BaseException:
            await self._stop(graceful=False)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stop(graceful=exc_type is None)

    async def _start(self) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [PACKAGE_ROOT, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WORKER,
            str(self.max_article_bytes),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            process_group=0,  # a Ctrl-C in the terminal reaches the parent only
            limit=1 << 20,
        )
        assert process.stdout is not None
        frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        reader = asyncio.create_task(_read_frames(process.stdout, frames), name="parse results")
        return _Worker(process, frames, reader)

    async def map(
        self, chunks: Iterable[tuple[Label, Sequence[ParseTask | FeedTask]]]
    ) -> AsyncGenerator[tuple[Label, list[Any]], None]:
        """Parse every chunk; yield (label, results) in the order of ``chunks``.

        At most ``in_flight`` chunks per worker are out at a time; each goes to the worker with
        the least work, and each worker answers in the order it was asked, so taking the
        results in order needs no reordering.
        """
        window: deque[tuple[Label, _Worker]] = deque()
        limit = len(self._workers) * self.in_flight
        for label, tasks in chunks:
            worker = min(self._workers, key=lambda w: w.in_flight)
            await self._send(worker, list(tasks))
            window.append((label, worker))
            if len(window) >= limit:
                yield await self._take(window)
        while window:
            yield await self._take(window)

    async def _send(self, worker: _Worker, tasks: list[ParseTask | FeedTask]) -> None:
        stdin = worker.process.stdin
        assert stdin is not None
        try:
            stdin.write(frame(tasks))
            await stdin.drain()
        except ConnectionError:
            raise WorkerDied(await worker.process.wait()) from None
        worker.in_flight += 1

    async def _take(self, window: deque[tuple[Label, _Worker]]) -> tuple[Label, list[Any]]:
        label, worker = window.popleft()
        data = await worker.frames.get()
        if data is None:
            raise WorkerDied(await worker.process.wait())
        worker.in_flight -= 1
        results: list[Any] = pickle.loads(data)  # noqa: S301 - from our own worker
        return label, results

    async def _stop(self, *, graceful: bool) -> None:
        """End every worker and reap it; on any failure (or a cancellation) kill them."""
        try:
            if graceful:
                for worker in self._workers:
                    if worker.process.stdin is not None:
                        worker.process.stdin.close()
                # tasks, not gather: a cancellation here must leave no unretrieved future
                exits = [asyncio.ensure_future(w.process.wait()) for w in self._workers]
                await asyncio.wait(exits, timeout=STOP_TIMEOUT)  # then they are killed below
        finally:
            for worker in self._workers:
                if worker.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        worker.process.kill()
            for worker in self._workers:
                await worker.process.wait()
                await worker.reader  # ends at the end of the worker's stdout
            self._workers = []
