"""Feeds that servers added from Discord, polled with the config's: safety, priority, scope."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.net.fetch import Fetcher
from bot.services.sources.feed_list import FeedList, ServerFeeds
from bot.services.sources.feeds import FeedPoller
from bot.settings import settings_from_mapping
from bot.store.articles import ArticleStore
from bot.store.browse import BrowseStore
from bot.store.db import Database
from bot.store.server_sources import ServerSourceStore
from bot.store.sources import SourceStore
from bot.wiring import fetch_policy
from tests.services.test_feeds import Clock, rss
from tests.support.feed_server import feed_server
from tests.support.internet import PublicInternet

GUILD, OTHER = 111, 222
SHARED = "https://example.com/shared-story"


async def add(db: Database, guild: int, url: str) -> None:
    await ServerSourceStore(db).add(
        guild,
        url,
        topics=("Own",),
        quality=50,
        interval=timedelta(minutes=15),
        added_by=1,
        at=Clock()(),
        limit=50,
    )


def settings_with(tmp: Path, *feeds: str):  # type: ignore[no-untyped-def]
    return settings_from_mapping(
        {
            "database": {"path": str(tmp / "db.sqlite")},
            "sources": [{"feed": url} for url in feeds],
            "fetch": {"allow_networks": ["127.0.0.0/8"]},
        },
        {},
    )


async def test_a_server_feed_never_reaches_loopback_whatever_allow_networks_says(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    async with feed_server() as server:
        server.body("/feed", rss(("g", "Story", "/s")))
        await add(db, GUILD, server.url("/feed"))
        settings = settings_with(tmp_path)  # allow_networks has 127.0.0.0/8
        async with Fetcher(fetch_policy(settings)) as fetcher:
            poller = FeedPoller(
                store,
                SourceStore(db),
                fetcher,
                FeedList(settings.sources, ServerFeeds(ServerSourceStore(db))),
                clock=Clock(),
            )
            [report] = await poller.poll()
    assert report.outcome == "failed" and "loopback" in (report.error or "")
    assert report.guild_id == GUILD and "/newsadmin source remove" in report.fix()
    assert server.hits.get("/feed") is None
    assert [a async for a in store.iter_all()] == []


async def test_a_configured_feed_outranks_a_server_feed_and_makes_the_article_global(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    async with feed_server() as server:
        server.body("/config", rss(("c", "From the config", SHARED)))
        server.body("/own", rss(("o", "From the server", SHARED), ("p", "Only ours", "/p")))
        settings = settings_with(tmp_path, server.url("/config"))
        internet = PublicInternet(fetch_policy(settings), {"feeds.example.net": server.base})
        servers = ServerFeeds(ServerSourceStore(db))
        await add(db, GUILD, "https://feeds.example.net/own")
        poller = FeedPoller(
            store,
            SourceStore(db),
            internet,
            FeedList(settings.sources, servers),
            clock=Clock(),
        )
        try:
            configured, own = await poller.feed_list.feeds()
            # The server's feed alone first: its articles are its server's only.
            [first] = await poller.poll([own])
            assert (first.outcome, first.new) == ("ok", 2)
            # Then the config's, which takes the shared story over and makes it global...
            [taken] = await poller.poll([configured])
            assert (taken.outcome, taken.updated) == ("ok", 1)
            # ...and the server's feed never writes it again, though the config's is not due.
            server.body(
                "/own", rss(("o", "From the server, again", SHARED), ("p", "Only ours", "/p"))
            )
            [held] = await poller.poll([own])
            assert (held.outcome, held.updated) == ("ok", 0)
        finally:
            await internet.close()
    assert internet.asked == [
        ("https://feeds.example.net/own", False),
        (server.url("/config"), True),
        ("https://feeds.example.net/own", False),
    ]
    browse = BrowseStore(db)
    titles = {a.title: a async for a, _ in store.iter_all()}
    assert set(titles) == {"From the config", "Only ours"}
    shared, ours = titles["From the config"], titles["Only ours"]
    assert ours.url == "https://feeds.example.net/p" and "Own" in ours.topics
    for guild in (GUILD, OTHER, None):
        assert await browse.visible(shared.id, guild=guild)  # type: ignore[arg-type]
    assert await browse.visible(ours.id, guild=GUILD)  # type: ignore[arg-type]
    assert not await browse.visible(ours.id, guild=OTHER)  # type: ignore[arg-type]
    assert not await browse.visible(ours.id, guild=None)  # type: ignore[arg-type]


async def test_a_removed_server_feed_is_not_fetched_and_its_row_not_recreated(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    async with feed_server() as server:
        server.body("/own", rss(("o", "Ours", "/o")))
        settings = settings_with(tmp_path)
        internet = PublicInternet(fetch_policy(settings), {"feeds.example.net": server.base})
        servers = ServerFeeds(ServerSourceStore(db))
        await add(db, GUILD, "https://feeds.example.net/own")
        poller = FeedPoller(store, SourceStore(db), internet, FeedList((), servers), clock=Clock())
        try:
            [listed] = await poller.feed_list.feeds()
            assert await ServerSourceStore(db).remove(GUILD, "https://feeds.example.net/own")
            # the poller still holds the old list: the feed's row is gone, so it is skipped
            assert await poller.poll([listed]) == []
            servers.changed()
            assert await poller.feed_list.feeds() == []
        finally:
            await internet.close()
    assert server.hits.get("/own") is None
    assert await SourceStore(db).all() == []
