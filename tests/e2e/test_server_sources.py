"""Feeds a server adds from Discord, end to end: its own posts, its own /news, its own alerts.

The feeds are served locally under a public name (tests/support/internet.py): a feed added
from Discord may reach public addresses only, and 127.0.0.1 typed as one is refused.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from bot.wiring import fetch_policy
from tests.e2e.harness import (
    AI_CHANNEL,
    ALICE,
    BOB,
    GUILD,
    LOG_CHANNEL,
    OTHER_CHANNEL,
    OTHER_GUILD,
    ROBOTS_CHANNEL,
    Running,
    article,
    make_settings,
    running_bot,
    subscription,
)
from tests.fakediscord import MANAGE_GUILD, FakeDiscord
from tests.support.feed_server import feed_server
from tests.support.internet import PublicInternet

pytestmark = pytest.mark.slow

FEEDS = "https://feeds.example.net"
CAROL = 700_000_000_000_000_042  # a member of the other server
OTHER_MODS = 700_000_000_000_000_032  # a role with Manage Server there


def rss(*stories: tuple[str, str]) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{title}</title>"
        f"<link>/{guid}</link><category>AI</category></item>"
        for guid, title in stories
    )
    return f"<rss version='2.0'><channel><title>Our feed</title>{items}</channel></rss>".encode()


async def test_a_server_feed_is_posted_and_shown_in_that_server_only(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    fake.add_member(OTHER_GUILD, CAROL, "carol")
    article(tmp_path, 1, title="A story for everyone")
    async with feed_server() as server:
        server.body("/ours.xml", rss(("one", "Our own story about chess")))
        settings = make_settings(tmp_path, [subscription(AI_CHANNEL), subscription(OTHER_CHANNEL)])
        internet = PublicInternet(fetch_policy(settings), {"feeds.example.net": server.base})
        try:
            async with running_bot(fake, settings, fetcher=internet) as run:
                added = await fake.slash(
                    GUILD,
                    ROBOTS_CHANNEL,
                    ALICE,
                    "newsadmin source add",
                    {"url": f"{FEEDS}/ours.xml", "topics": "Chess, AI", "interval": "10m"},
                )
                assert added.ephemeral and added.content.startswith("✅ Added")
                assert "quality 50" in added.content and "every 10m" in added.content
                await fetched(run)  # within a second or so: a new feed is due at once
                await run.run(AI_CHANNEL)
                await run.run(OTHER_CHANNEL)
                assert sorted(run.posted_urls(AI_CHANNEL)) == sorted(
                    [f"{FEEDS}/one", "https://news.example.com/articles/1"]
                )
                assert run.posted_urls(OTHER_CHANNEL) == ["https://news.example.com/articles/1"]
                ours = await fake.slash(GUILD, AI_CHANNEL, BOB, "news search", {"query": "chess"})
                assert [e["title"] for e in ours.embeds] == ["Our own story about chess"]
                theirs = await fake.slash(
                    OTHER_GUILD, OTHER_CHANNEL, CAROL, "news search", {"query": "chess"}
                )
                assert theirs.content.endswith("nothing found.") and not theirs.embeds
                topics = await fake.slash(OTHER_GUILD, OTHER_CHANNEL, CAROL, "news topics")
                assert "Chess" not in topics.content + str(topics.embeds)
                mine = await fake.slash(GUILD, AI_CHANNEL, BOB, "news topics")
                assert "Chess" in mine.content + str(mine.embeds)
                theirs_ac = await fake.autocomplete(
                    OTHER_GUILD,
                    OTHER_CHANNEL,
                    CAROL,
                    "news related",
                    {"article": "chess"},
                    "article",
                )
                assert theirs_ac.choices == []
                ours_ac = await fake.autocomplete(
                    GUILD, AI_CHANNEL, BOB, "news related", {"article": "chess"}, "article"
                )
                assert len(ours_ac.choices) == 1
                listed = await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin sources")
                assert f"<{FEEDS}/ours.xml>: ok (HTTP 200)" in listed.content
                assert "1 new, 0 updated" in listed.content and "1 of 50" in listed.content
                log = [m["content"] for m in fake.messages_in(LOG_CHANNEL)]
                assert any(f"added the feed <{FEEDS}/ours.xml>" in line for line in log)
                removed = await fake.slash(
                    GUILD,
                    ROBOTS_CHANNEL,
                    ALICE,
                    "newsadmin source remove",
                    {"url": f"{FEEDS}/ours.xml"},
                )
                assert removed.content.startswith("🗑️ Removed")
                hits = server.hits["/ours.xml"]
                again = await fake.slash(GUILD, AI_CHANNEL, BOB, "news search", {"query": "chess"})
                assert [e["title"] for e in again.embeds] == ["Our own story about chess"]  # kept
                await asyncio.sleep(1.5)  # the poll loop looks every second
                assert server.hits["/ours.xml"] == hits
        finally:
            await internet.close()
    assert (f"{FEEDS}/ours.xml", False) in internet.asked  # never with allow_networks


async def fetched(run: Running) -> None:
    """Until the server's feeds have all been fetched once and their items stored."""
    for _ in range(300):  # 15 s
        listing = await run.stores.server_sources.of_guild(GUILD)
        if listing and all(state.last_fetch_at for _, state in listing):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the server's feeds were not fetched within 15 s")


async def test_hostile_options_are_answered_privately_and_store_nothing(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    settings = make_settings(
        tmp_path, [subscription(AI_CHANNEL)], fetch={"max_sources_per_server": 2}
    )
    async with running_bot(fake, settings) as run:

        async def add(options: dict[str, object]) -> str:
            record = await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin source add", options)
            assert record.ephemeral and "Traceback" not in record.content
            assert "Something went wrong" not in record.content
            return record.content

        assert "Only http:// and https://" in await add({"url": "file:///etc/passwd"})
        assert "Only http:// and https://" in await add({"url": "javascript:alert(1)"})
        assert "user name or password" in await add({"url": "https://a:b@example.com/f"})
        assert "loopback" in await add({"url": "http://127.0.0.1:8080/feed"})
        assert "link-local" in await add({"url": "http://169.254.169.254/latest/meta-data"})
        assert "loopback" in await add({"url": "http://[::ffff:127.0.0.1]/feed"})
        assert "5m to 1d" in await add({"url": f"{FEEDS}/a", "interval": "1s"})
        assert "expected a duration" in await add({"url": f"{FEEDS}/a", "interval": "soon"})
        assert "At most 10 topics" in await add(
            {"url": f"{FEEDS}/a", "topics": ",".join(f"t{n}" for n in range(11))}
        )
        assert await run.stores.server_sources.count(GUILD) == 0
        assert (await add({"url": f"{FEEDS}/a"})).startswith("✅")
        assert "already has the feed" in await add({"url": f"{FEEDS}/a"})
        assert (await add({"url": f"{FEEDS}/b?x=${{DISCORD_TOKEN}}"})).startswith("✅")
        assert "fetch.max_sources_per_server" in await add({"url": f"{FEEDS}/c"})
        [_, literal] = await run.stores.server_sources.all()
        assert "DISCORD_TOKEN" in literal.url and "fake-token" not in literal.url
        missing = await fake.slash(
            GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin source remove", {"url": f"{FEEDS}/zzz"}
        )
        assert missing.ephemeral and "has no feed" in missing.content
        # Another server's moderator neither sees nor removes them.
        assert await run.stores.server_sources.count(OTHER_GUILD) == 0
        refused = await fake.slash(
            GUILD, ROBOTS_CHANNEL, BOB, "newsadmin source add", {"url": f"{FEEDS}/d"}
        )
        assert refused.ephemeral and await run.stores.server_sources.count(GUILD) == 2


async def test_source_test_shows_the_first_items_and_stores_nothing(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    fake.add_role(OTHER_GUILD, OTHER_MODS, "moderators", MANAGE_GUILD)
    fake.add_member(OTHER_GUILD, CAROL, "carol", roles=[OTHER_MODS])
    async with feed_server() as server:
        server.body(
            "/t.xml",
            rss(*((f"g{n}", f"Story **{n}** @everyone") for n in range(8)), ("bad", "")),
        )
        server.body("/page", b"<!doctype html><html><body>hi</body></html>", "text/html")
        settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
        internet = PublicInternet(fetch_policy(settings), {"feeds.example.net": server.base})
        try:
            async with running_bot(fake, settings, fetcher=internet) as run:
                shown = await fake.slash(
                    GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin source test", {"url": f"{FEEDS}/t.xml"}
                )
                assert shown.ephemeral and "Our feed" in shown.content
                assert (
                    "8 items it would add" in shown.content
                    and "nothing was stored" in shown.content
                )
                assert "Story \\*\\*0\\*\\*" in shown.content and "… and 3 more" in shown.content
                html = await fake.slash(
                    GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin source test", {"url": f"{FEEDS}/page"}
                )
                assert html.ephemeral and "HTML page" in html.content
                gone = await fake.slash(
                    GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin source test", {"url": f"{FEEDS}/nope"}
                )
                assert gone.ephemeral and "HTTP 404" in gone.content
                fetched = len(server.requested)
                answers = [
                    await fake.slash(
                        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin source test", {"url": url}
                    )
                    for url in (f"{FEEDS}/t.xml", f"{FEEDS}/t.xml", f"{FEEDS}/t.xml")
                ]  # the 4th and 5th tests of this minute, then one too many
                assert ["Slow down" in a.content for a in answers] == [False, False, True]
                assert answers[2].ephemeral and len(server.requested) == fetched + 2
                other = await fake.slash(
                    OTHER_GUILD,
                    OTHER_CHANNEL,
                    CAROL,
                    "newsadmin source test",
                    {"url": f"{FEEDS}/t.xml"},
                )  # another server's moderator is not slowed down by this one
                assert "8 items it would add" in other.content
                assert [a async for a in run.stores.articles.iter_all()] == []
                assert await run.stores.server_sources.count(GUILD) == 0
        finally:
            await internet.close()


async def test_a_gone_server_feed_alerts_that_servers_log_channel(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    async def gone(request: web.Request) -> web.StreamResponse:
        return web.Response(status=410)

    async with feed_server() as server:
        server.routes["/old.xml"] = gone
        settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
        internet = PublicInternet(fetch_policy(settings), {"feeds.example.net": server.base})
        try:
            async with running_bot(fake, settings, fetcher=internet) as run:
                await fake.slash(
                    GUILD,
                    ROBOTS_CHANNEL,
                    ALICE,
                    "newsadmin settings",
                    {"log_channel": ROBOTS_CHANNEL},
                )
                await fake.slash(
                    GUILD,
                    ROBOTS_CHANNEL,
                    ALICE,
                    "newsadmin source add",
                    {"url": f"{FEEDS}/old.xml"},
                )

                def alerted() -> bool:
                    return any(
                        "410" in m.get("content", "") for m in fake.messages_in(ROBOTS_CHANNEL)
                    )

                await fake.wait_for(alerted, 15, what="the 410 alert")
                [alert] = [
                    m["content"] for m in fake.messages_in(ROBOTS_CHANNEL) if "410" in m["content"]
                ]
                assert f"{FEEDS}/old.xml" in alert and "/newsadmin source remove" in alert
                assert not any("410" in m["content"] for m in fake.messages_in(LOG_CHANNEL))
                listed = await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin sources")
                assert "disabled since" in listed.content
                [(_, state)] = await run.stores.server_sources.of_guild(GUILD)
                assert state.disabled_at is not None
        finally:
            await internet.close()


def test_a_long_listing_is_split_at_line_ends_within_discords_limit() -> None:
    from bot.cogs.admin_sources import messages

    lines = [f"• <https://feeds.example.net/{n}.xml>: {'x' * 100}" for n in range(50)]
    sent = messages(lines)
    assert len(sent) > 1 and all(len(m) <= 2000 for m in sent)
    assert "\n".join(sent).splitlines() == lines
    assert messages(["y" * 2500]) == ["y" * 2000]
