"""Feed bodies parsed off the event loop: a few in a thread, many in the parse workers (the
same processes and threshold logic as file ingest, bot.services.ingest.pool)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence

from bot.domain.feeds import FeedDocument
from bot.services.ingest.pool import ParsePool
from bot.services.ingest.worker import FeedTask, parse_chunk

POOL_THRESHOLD = 20  # fewer feeds than this to parse: a thread is cheaper than worker processes
CHUNK_FEEDS = 4  # feeds per task sent to a worker process (a feed is up to fetch.max_bytes)


async def parse_feeds(tasks: Sequence[FeedTask], *, workers: int = 0) -> list[FeedDocument]:
    """One document per task, in order. ``workers``: 0 is one per CPU."""
    if not tasks:
        return []
    if len(tasks) < POOL_THRESHOLD:
        out: list[FeedDocument] = []
        for task in tasks:  # one hop each: the loop runs between two feeds
            out.extend(await asyncio.to_thread(parse_chunk, [task], 0))
        return out

    def chunks() -> Iterator[tuple[int, Sequence[FeedTask]]]:
        for start in range(0, len(tasks), CHUNK_FEEDS):
            yield start, tasks[start : start + CHUNK_FEEDS]

    documents: list[FeedDocument] = []
    size = min(workers or os.cpu_count() or 1, -(-len(tasks) // CHUNK_FEEDS))
    async with ParsePool(size, 0) as pool:
        async for _, results in pool.map(chunks()):
            documents.extend(results)
    return documents
