"""Polling feeds into the archive: guid identity, fixed dates, priority, politeness, status."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.net.fetch import Fetcher
from bot.services.ingest.ingestor import Ingestor
from bot.services.sources.feed_list import FeedList
from bot.services.sources.feeds import FeedPoller
from bot.services.sources.parsing import POOL_THRESHOLD
from bot.settings import IngestSettings, settings_from_mapping
from bot.store.articles import ArticleStore
from bot.store.db import Database
from bot.store.sources import SourceStore
from bot.wiring import fetch_policy
from tests.support.articles import write_article
from tests.support.feed_server import FeedServer, feed_server
from tests.support.processes import children


def rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid>"
        f"<title>{title}</title><link>{link}</link></item>"
        for guid, title, link in items
    )
    return f"<rss version='2.0'><channel><title>Feed</title>{body}</channel></rss>".encode()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def settings_for(*urls: str, tmp: Path, extra: list[dict[str, object]] | None = None):  # type: ignore[no-untyped-def]
    sources: list[dict[str, object]] = [
        *(extra or []),
        *({"feed": u, "interval": "10m"} for u in urls),
    ]
    return settings_from_mapping(
        {
            "database": {"path": str(tmp / "db.sqlite")},
            "sources": sources,
            "fetch": {"allow_networks": ["127.0.0.0/8"]},
        },
        {},
    )


async def test_a_feed_is_stored_then_costs_nothing_until_it_changes(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    clock = Clock()
    async with feed_server() as server:
        server.body(
            "/feed", rss(("g1", "First", "/a"), ("g2", "Second", "/b"), ("g3", "No link", ""))
        )
        settings = settings_for(server.url("/feed"), tmp=tmp_path)
        async with Fetcher(fetch_policy(settings)) as fetcher:
            poller = FeedPoller(
                store,
                SourceStore(db),
                fetcher,
                FeedList(settings.sources),
                clock=clock,
                rand=lambda: 0.5,
            )
            [report] = await poller.poll()
            assert (report.outcome, report.new, report.updated, report.http_status) == (
                "ok",
                2,
                0,
                200,
            )
            assert [(r.item, r.error) for r in report.rejected] == [
                ("g3", "the item has no http(s) link")
            ]
            assert report.next_fetch_at == clock.now + timedelta(minutes=10)
            assert await poller.due() == []  # not due before its interval
            clock.now += timedelta(minutes=11)
            assert [feed.key for feed in await poller.due()] == [settings.sources[0].key]
            [again] = await poller.poll()
            assert (again.outcome, again.http_status, again.new) == ("not_modified", 304, 0)
            # The link changes (new tracking parameter) and the title too: the same article.
            server.body("/feed", rss(("g1", "First, corrected", "/a2"), ("g2", "Second", "/b")))
            [changed] = await poller.poll()
            assert (changed.outcome, changed.new, changed.updated) == ("ok", 0, 1)
    articles = [a async for a, _ in store.iter_all()]
    titles = sorted(a.title for a in articles)
    assert titles == ["First, corrected", "Second"]
    first = next(a for a in articles if a.title.startswith("First"))
    assert first.url == server.url("/a") and first.web_url == server.url("/a2")
    assert first.published_at == datetime(2026, 12, 2, 12, tzinfo=UTC)  # first seen, kept
    [state] = await SourceStore(db).all()
    assert (state.outcome, state.items_updated, state.failures) == ("ok", 1, 0)


async def test_failures_back_off_and_410_disables(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    clock = Clock()
    async with feed_server() as server:
        settings = settings_for(server.url("/missing"), server.url("/html"), tmp=tmp_path)
        server.body("/html", b"<!doctype html><html><body>hello</body></html>", "text/html")
        async with Fetcher(fetch_policy(settings)) as fetcher:
            poller = FeedPoller(
                store,
                SourceStore(db),
                fetcher,
                FeedList(settings.sources),
                clock=clock,
                rand=lambda: 0.5,
            )
            missing, html = await poller.poll()
            assert (missing.outcome, missing.http_status, missing.failures) == ("failed", 404, 1)
            assert missing.next_fetch_at == clock.now + timedelta(minutes=20)  # backed off
            assert html.outcome == "failed" and "HTML page" in (html.error or "")
            missing, _ = await poller.poll()
            assert missing.failures == 2 and missing.next_fetch_at == clock.now + timedelta(
                minutes=40
            )

            async def gone(request):  # type: ignore[no-untyped-def]
                from aiohttp import web

                return web.Response(status=410)

            server.routes["/missing"] = gone
            missing, _ = await poller.poll()
            assert missing.gone and missing.alert() is not None and "410" in missing.alert()  # type: ignore[operator]
            hits = server.hits["/missing"]
            disabled, _ = await poller.poll()
            assert disabled.outcome == "disabled" and server.hits["/missing"] == hits


async def test_a_directory_source_wins_over_a_feed(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    news = tmp_path / "news"
    news.mkdir()
    async with feed_server() as server:
        url = "https://example.com/shared-story"
        write_article(news, "story.md", title="From the directory", webUrl=url)
        await Ingestor(store, IngestSettings()).ingest([news])
        server.body("/feed", rss(("s", "From the feed", url), ("t", "Only in the feed", "/own")))
        settings = settings_for(server.url("/feed"), tmp=tmp_path)
        async with Fetcher(fetch_policy(settings)) as fetcher:
            poller = FeedPoller(
                store, SourceStore(db), fetcher, FeedList(settings.sources), clock=Clock()
            )
            [report] = await poller.poll()
    assert report.new == 1 and report.updated == 0
    titles = sorted([a.title async for a, _ in store.iter_all()])
    assert titles == ["From the directory", "Only in the feed"]


async def test_a_permanent_move_is_reported_without_the_secret(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    from aiohttp import web

    async def moved(request: web.Request) -> web.StreamResponse:
        return web.Response(status=301, headers={"Location": "/new?" + request.query_string})

    async with feed_server() as server:
        server.routes["/old"] = moved
        server.body("/new", rss(("g", "Story", "/s")))
        settings = settings_from_mapping(
            {
                "database": {"path": str(tmp_path / "db.sqlite")},
                "sources": [
                    {"feed": server.url("/old?key=${FEED_KEY}")},
                    {"feed": server.url("/old?plain=1")},
                ],
                "fetch": {"allow_networks": ["127.0.0.0/8"]},
            },
            {"FEED_KEY": "hunter2"},
        )
        async with Fetcher(fetch_policy(settings)) as fetcher:
            poller = FeedPoller(
                store, SourceStore(db), fetcher, FeedList(settings.sources), clock=Clock()
            )
            secret, plain = await poller.poll()
    assert "/new?key=hunter2" in server.requested
    assert secret.outcome == "ok" and secret.moved_to and "hunter2" not in secret.moved_to
    assert plain.moved_to == server.url("/new?plain=1")
    assert all("hunter2" not in repr(state) for state in await SourceStore(db).all())


def many_feeds(server: FeedServer, count: int, *, items: int = 1, edition: str = "") -> None:
    for k in range(count):
        server.body(
            f"/f{k}",
            rss(*((f"g{k}-{i}", f"Story {k}.{i}{edition}", f"/s{k}-{i}") for i in range(items))),
        )


async def test_many_feeds_are_stored_while_the_workers_parse_the_rest(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    count = POOL_THRESHOLD + 5  # enough to go through the parse workers
    clock = Clock()
    async with feed_server() as server:
        many_feeds(server, count, items=3)
        server.body("/f3", b"<!doctype html><html><body>Not a feed</body></html>", "text/html")
        settings = settings_for(*(server.url(f"/f{k}") for k in range(count)), tmp=tmp_path)
        async with Fetcher(fetch_policy(settings)) as fetcher:
            poller = FeedPoller(
                store, SourceStore(db), fetcher, FeedList(settings.sources), workers=2, clock=clock
            )
            first = await poller.poll()
            assert [r.source for r in first] == [server.url(f"/f{k}") for k in range(count)]
            assert [r.outcome for r in first] == ["ok"] * 3 + ["failed"] + ["ok"] * (count - 4)
            assert "HTML page" in (first[3].error or "")
            assert {r.new for r in first if r.outcome == "ok"} == {3}
            # every other feed is corrected; the rest answer 304
            for k in range(0, count, 2):
                server.body(f"/f{k}", rss((f"g{k}-0", f"Story {k}.0, corrected", f"/s{k}-0")))
            clock.now += timedelta(hours=1)
            second = await poller.poll()
    outcomes = [(r.outcome, r.updated) for r in second]
    assert outcomes == [
        ("ok", 1) if k % 2 == 0 else ("failed" if k == 3 else "not_modified", 0)
        for k in range(count)
    ]
    titles = {a.title async for a, _ in store.iter_all()}
    assert len(titles) == 3 * (count - 1)
    assert "Story 0.0, corrected" in titles and "Story 0.0" not in titles
    states = {s.key: s for s in await SourceStore(db).all()}
    assert states[settings.sources[0].key].items_updated == 1
    assert children(os.getpid()) == []  # the parse workers are gone


async def until_the_workers_run() -> None:
    for _ in range(500):
        await asyncio.sleep(0.01)
        if children(os.getpid()):
            return
    raise AssertionError("the parse workers never started")


async def hold_the_database(blocker: sqlite3.Connection) -> None:
    """Another process's write transaction, taken between two of the poll's."""
    while True:
        try:
            blocker.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError:  # the poll is writing: try again
            await asyncio.sleep(0.001)


async def test_a_poll_cancelled_while_storing_leaves_no_parse_worker(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    count, items = POOL_THRESHOLD * 3, 20
    async with feed_server() as server:
        many_feeds(server, count, items=items)
        settings = settings_for(*(server.url(f"/f{k}") for k in range(count)), tmp=tmp_path)
        blocker = sqlite3.connect(tmp_path / "newsdesk.db", timeout=0, isolation_level=None)
        try:
            async with Fetcher(fetch_policy(settings)) as fetcher:
                poller = FeedPoller(
                    store,
                    SourceStore(db),
                    fetcher,
                    FeedList(settings.sources),
                    workers=2,
                    clock=Clock(),
                )
                polling = asyncio.ensure_future(poller.poll())
                await until_the_workers_run()
                for _ in range(500):  # until a feed is stored
                    await asyncio.sleep(0.01)
                    if blocker.execute("SELECT count(*) FROM articles").fetchone()[0]:
                        break
                # the poll's next store waits on it while the workers parse on
                await hold_the_database(blocker)
                await asyncio.sleep(0.3)
                assert not polling.done()
                polling.cancel()
                asyncio.get_running_loop().call_later(0.2, blocker.rollback)
                with pytest.raises(asyncio.CancelledError):
                    await polling
                assert children(os.getpid()) == []  # killed and reaped before the poll ended
        finally:
            blocker.close()
    stored = Counter([a.url.rsplit("-", 1)[0] async for a, _ in store.iter_all()])
    assert len(stored) < count  # it was cancelled midway...
    assert set(stored.values()) <= {items}  # ...between two feeds: each stored whole or not
    # What was stored before the cancellation is recorded (all but the feed being stored
    # when it came, whose transaction finished but whose record was not made yet).
    recorded = [s for s in await SourceStore(db).all() if s.outcome == "ok"]
    assert len(stored) - 1 <= len(recorded) <= len(stored) and recorded
    assert all(s.etag for s in recorded)


async def test_a_feed_whose_items_cannot_be_stored_fails_alone(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    clock = Clock()
    async with feed_server() as server:
        server.body("/good", rss(("g", "Good story", "/good-story")))
        server.body("/bad", rss(("b", "Poisoned story", "/poisoned-story")))
        server.body("/same", rss(("s", "Same story", "/same-story")))
        settings = settings_for(*(server.url(p) for p in ("/same", "/bad", "/good")), tmp=tmp_path)
        async with Fetcher(fetch_policy(settings)) as fetcher:
            feeds = FeedList(settings.sources)
            poller = FeedPoller(store, SourceStore(db), fetcher, feeds, clock=clock)
            await poller.poll((await feeds.feeds())[:1])  # /same: stored, then unchanged
            clock.now += timedelta(hours=1)
            # The database refuses one article, as a full disk or a broken index would.
            await db.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON articles WHEN NEW.url LIKE '%poisoned%' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
            same, bad, good = await poller.poll()
            assert (same.outcome, good.outcome, good.new) == ("not_modified", "ok", 1)
            assert bad.outcome == "failed" and "could not be stored" in (bad.error or "")
            states = {s.key: s for s in await SourceStore(db).all()}
            assert states[settings.sources[1].key].etag is None  # its validators not kept...
            assert states[settings.sources[2].key].etag is not None
            assert states[settings.sources[0].key].next_fetch_at > clock.now  # nor the others'
            await db.execute("DROP TRIGGER poison")
            clock.now += timedelta(hours=2)
            _, bad, _ = await poller.poll()
    assert (bad.outcome, bad.new) == ("ok", 1)  # ...so the next poll fetches it whole
    titles = sorted([a.title async for a, _ in store.iter_all()])
    assert titles == ["Good story", "Poisoned story", "Same story"]


async def test_parse_workers_that_die_fail_the_rest_of_the_poll_only(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    count = POOL_THRESHOLD * 3
    async with feed_server() as server:
        many_feeds(server, count, items=20)
        settings = settings_for(*(server.url(f"/f{k}") for k in range(count)), tmp=tmp_path)
        blocker = sqlite3.connect(tmp_path / "newsdesk.db", timeout=0, isolation_level=None)
        try:
            async with Fetcher(fetch_policy(settings)) as fetcher:
                poller = FeedPoller(
                    store,
                    SourceStore(db),
                    fetcher,
                    FeedList(settings.sources),
                    workers=2,
                    clock=Clock(),
                )
                polling = asyncio.ensure_future(poller.poll())
                await until_the_workers_run()
                await hold_the_database(blocker)  # the poll's next store waits on it
                for pid in children(os.getpid()):  # killed (out of memory, say)
                    os.kill(pid, signal.SIGKILL)
                blocker.rollback()
                reports = await polling
        finally:
            blocker.close()
    assert children(os.getpid()) == []
    assert len(reports) == count  # every feed has its report...
    failed = [r for r in reports if r.outcome == "failed"]
    assert failed and all("could not be parsed" in (r.error or "") for r in failed)
    assert {r.outcome for r in reports} <= {"ok", "failed"}
    states = {s.key: s for s in await SourceStore(db).all()}
    assert len(states) == count and all(s.last_fetch_at for s in states.values())  # ...recorded
    # those stored are whole; the failed ones keep no validators, so the next poll parses them
    assert all(
        states[f.key].etag is None
        for f in await FeedList(settings.sources).feeds()
        if next(r for r in reports if r.source == f.display).outcome == "failed"
    )
    stored = Counter([a.url.rsplit("-", 1)[0] async for a, _ in store.iter_all()])
    assert set(stored.values()) <= {20} and len(stored) == count - len(failed)
