"""Feed bodies parsed off the event loop: a few in a thread, many in the parse workers (the
same processes and threshold logic as file ingest, bot.services.ingest.pool)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Iterator, Sequence

from bot.domain.feeds import FeedDocument
from bot.services.ingest.pool import ParsePool
from bot.services.ingest.worker import FeedTask, parse_chunk

POOL_THRESHOLD = 20  # fewer feeds than this to parse: a thread is cheaper than worker processes
CHUNK_FEEDS = 4  # feeds per task sent to a worker process (a feed is up to fetch.max_bytes)


async def parsed_feeds(
    tasks: Sequence[FeedTask], *, workers: int = 0
) -> AsyncGenerator[FeedDocument, None]:
    """One document per task, in order, each as soon as it is parsed: the caller stores one
    feed while the workers parse the next (and only a window of documents is alive at a
    time). ``workers``: 0 is one per CPU."""
    if not tasks:
        return
    if len(tasks) < POOL_THRESHOLD:
        for task in tasks:  # one hop each: the loop runs between two feeds
            for document in await asyncio.to_thread(parse_chunk, [task], 0):
                yield document
        return

    def chunks() -> Iterator[tuple[int, Sequence[FeedTask]]]:
        for start in range(0, len(tasks), CHUNK_FEEDS):
            yield start, tasks[start : start + CHUNK_FEEDS]

    size = min(workers or os.cpu_count() or 1, -(-len(tasks) // CHUNK_FEEDS))
    async with ParsePool(size, 0) as pool, contextlib.aclosing(pool.map(chunks())) as parsed:
        async for _, results in parsed:
            for document in results:
                yield document


async def parse_feeds(tasks: Sequence[FeedTask], *, workers: int = 0) -> list[FeedDocument]:
    """Every document at once, in order (see :func:`parsed_feeds`)."""
    return [document async for document in parsed_feeds(tasks, workers=workers)]
