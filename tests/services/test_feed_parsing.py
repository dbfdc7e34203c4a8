"""Many feeds are parsed in the worker processes: the same documents, in the same order, as
one at a time in a thread; a hostile body in the batch spoils only itself."""

from __future__ import annotations

from bot.services.ingest.worker import FeedTask
from bot.services.sources.parsing import POOL_THRESHOLD, parse_feeds
from tests.conftest import FIXTURES

FEEDS = sorted((FIXTURES / "feeds").iterdir())


async def test_the_pool_parses_many_feeds_as_the_thread_does_one() -> None:
    tasks = [
        FeedTask(f"feed:{n}", f"https://example.com/{n}/feed", path.read_bytes(), None)
        for n, path in enumerate(FEEDS * 2)
    ]
    assert len(tasks) >= POOL_THRESHOLD  # the worker processes' path
    pooled = await parse_feeds(tasks, workers=2)
    one_by_one = [(await parse_feeds([task]))[0] for task in tasks]  # the thread's path
    assert pooled == one_by_one
    by_name = dict(zip([p.name for p in FEEDS * 2], pooled, strict=True))
    assert by_name["billion-laughs.xml"].error and by_name["xxe.xml"].error
    assert by_name["rss20.xml"].error is None and by_name["rss20.xml"].entries
    assert by_name["jsonfeed-1.1.json"].entries
