"""Polling feeds into the archive: guid identity, fixed dates, priority, politeness, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.net.fetch import Fetcher
from bot.services.ingest.ingestor import Ingestor
from bot.services.sources.feed_list import FeedList
from bot.services.sources.feeds import FeedPoller
from bot.settings import IngestSettings, settings_from_mapping
from bot.store.articles import ArticleStore
from bot.store.db import Database
from bot.store.sources import SourceStore
from bot.wiring import fetch_policy
from tests.support.articles import write_article
from tests.support.feed_server import feed_server


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
