"""A feed end to end: the running bot fetches it on its interval and posts what it gains."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.harness import AI_CHANNEL, LOG_CHANNEL, make_settings, running_bot, subscription
from tests.fakediscord import FakeDiscord
from tests.support.feed_server import feed_server

pytestmark = pytest.mark.slow


def rss(*stories: tuple[str, str]) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{title}</title>"
        f"<link>/{guid}</link><category>AI</category></item>"
        for guid, title in stories
    )
    return f"<rss version='2.0'><channel><title>Local AI</title>{items}</channel></rss>".encode()


async def test_a_feed_that_gains_an_item_is_posted_within_one_interval(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    async with feed_server() as server:
        server.body("/ai.xml", rss(("one", "First story")))
        settings = make_settings(
            tmp_path,
            [subscription(AI_CHANNEL, interval="1s", topics=["AI"])],
            sources=[
                {"path": str(tmp_path / "news")},
                {"feed": server.url("/ai.xml"), "interval": "1s"},
            ],
            fetch={"allow_networks": ["127.0.0.0/8"]},
        )
        async with running_bot(fake, settings) as run:
            await fake.wait_for_messages(AI_CHANNEL, 1, timeout=20)
            server.body("/ai.xml", rss(("two", "Second story"), ("one", "First story")))
            await fake.wait_for_messages(AI_CHANNEL, 2, timeout=20)
            assert run.posted_urls(AI_CHANNEL) == [server.url("/one"), server.url("/two")]
            titles = [m["embeds"][0]["title"] for m in fake.messages_in(AI_CHANNEL)]
            assert titles == ["First story", "Second story"]
            assert server.hits["/ai.xml"] >= 3  # polled on its interval, mostly answered 304


async def test_a_feed_gone_before_the_bot_is_connected_is_still_alerted(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    async def gone(request: web.Request) -> web.StreamResponse:
        return web.Response(status=410)

    fake.set_latency(1.5, "/users/@me")  # logging in is slow: the first poll comes first
    async with feed_server() as server:
        server.routes["/old.xml"] = gone
        settings = make_settings(
            tmp_path,
            [subscription(AI_CHANNEL)],
            sources=[{"path": str(tmp_path / "news")}, {"feed": server.url("/old.xml")}],
            fetch={"allow_networks": ["127.0.0.0/8"]},
            http={"host": "127.0.0.1", "port": 0},
        )
        async with running_bot(fake, settings) as run:
            [alert] = await fake.wait_for_messages(LOG_CHANNEL, 1, timeout=20)
            assert (
                "gone (HTTP 410)" in alert["content"]
                and "remove it from the config" in (alert["content"])
            )
            assert server.hits["/old.xml"] == 1  # disabled: never fetched again
            assert run.server is not None
            url = f"http://127.0.0.1:{run.server.port}/metrics"
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                metrics = await response.text()
            assert 'newsdesk_source_fetches_total{outcome="failed"} 1.0' in metrics
            assert 'newsdesk_source_items_total{outcome="new"} 0.0' in metrics
