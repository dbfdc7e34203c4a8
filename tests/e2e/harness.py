"""Run the real NewsBot (real store, real discord.py) against the fake Discord, in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord

from bot.app import health_server, wire
from bot.cogs.admin import AdminCog
from bot.discord_io.client import NewsBot
from bot.domain.delivery import Delivery
from bot.domain.subscription import Subscription
from bot.net.fetch import Fetcher, UrlFetcher
from bot.services.admin import AdminService
from bot.services.publishing.publisher import Publisher
from bot.services.publishing.sender import RunReport
from bot.settings import Settings, settings_from_mapping
from bot.settings.sources import source_paths
from bot.store.outbox import delivery_from_row
from bot.web import HealthServer
from bot.wiring import Stores, fetch_policy, ingestor, open_stores, prepare
from tests.fakediscord import (
    EMBED_LINKS,
    NEWS_CHANNEL,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeDiscord,
    patch_discord_py,
)
from tests.support.articles import write_article

TOKEN = "fake-token"
GUILD = 700_000_000_000_000_001
OTHER_GUILD = 700_000_000_000_000_002
AI_CHANNEL = 700_000_000_000_000_010
ROBOTS_CHANNEL = 700_000_000_000_000_011
ANNOUNCE_CHANNEL = 700_000_000_000_000_012
LOG_CHANNEL = 700_000_000_000_000_013
OTHER_CHANNEL = 700_000_000_000_000_020
MOD_ROLE = 700_000_000_000_000_030
PING_ROLE = 700_000_000_000_000_031
ALICE = 700_000_000_000_000_040  # moderator
BOB = 700_000_000_000_000_041  # member
BOT_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY
NEVER = "0 0 1 1 *"  # a cron that does not fire during a test: runs are triggered by hand


def now() -> datetime:
    return datetime.now(UTC)


def recent(hours: float) -> str:
    return (now() - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_fake() -> FakeDiscord:
    fake = FakeDiscord(heartbeat_interval_ms=1000, token=TOKEN)
    return fake


def populate(fake: FakeDiscord) -> None:
    from tests.fakediscord import MANAGE_GUILD

    fake.add_guild(GUILD, "News Guild", bot_permissions=BOT_PERMISSIONS)
    fake.add_role(GUILD, MOD_ROLE, "moderators", MANAGE_GUILD)
    fake.add_role(GUILD, PING_ROLE, "news pings", 0)
    fake.add_channel(GUILD, AI_CHANNEL, "ai-news")
    fake.add_channel(GUILD, ROBOTS_CHANNEL, "robots")
    fake.add_channel(GUILD, ANNOUNCE_CHANNEL, "announcements", type=NEWS_CHANNEL)
    fake.add_channel(GUILD, LOG_CHANNEL, "mod-log")
    fake.add_member(GUILD, ALICE, "alice", roles=[MOD_ROLE])
    fake.add_member(GUILD, BOB, "bob")
    fake.add_guild(OTHER_GUILD, "Other Guild", bot_permissions=BOT_PERMISSIONS)
    fake.add_channel(OTHER_GUILD, OTHER_CHANNEL, "elsewhere")


def subscription(channel_id: int, **rules: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"channel_id": channel_id, "cron": NEVER, "interval": None}
    entry.update(rules)
    if "interval" in rules and rules["interval"] is not None:
        entry.pop("cron")
    return entry


def make_settings(
    tmp_path: Path, subscriptions: Iterable[dict[str, Any]], **sections: Any
) -> Settings:
    raw: dict[str, Any] = {
        "database": {"path": str(tmp_path / "newsdesk.db")},
        "sources": [{"path": str(tmp_path / "news")}],
        "ingest": {"interval": "1h"},
        "publishing": {"pace": "1s", "retry_backoff": "1s", "paused_recheck": "1h"},
        "subscriptions": list(subscriptions),
        "moderation": {"log_channel_id": LOG_CHANNEL, "moderator_role_ids": [MOD_ROLE]},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    (tmp_path / "news").mkdir(exist_ok=True)
    return settings_from_mapping(raw, {})


def article(tmp_path: Path, n: int, **fields: Any) -> Path:
    """Write news/<n>.md: by default an AI article of quality 70, published an hour ago."""
    fields.setdefault("publishedDateTime", recent(1 + n / 100))
    fields.setdefault("topics", ["AI"])
    return write_article(tmp_path / "news", f"{n:03d}.md", n, **fields)


def url_of(n: int) -> str:
    return f"https://news.example.com/articles/{n}"


@dataclass
class Running:
    fake: FakeDiscord
    bot: NewsBot
    stores: Stores
    settings: Settings
    server: HealthServer | None = None

    @property
    def publisher(self) -> Publisher:
        return self.bot.services.publisher

    @property
    def admin(self) -> AdminService:
        """The moderators' service, as the /newsadmin commands use it."""
        cog = self.bot.get_cog("AdminCog")
        assert isinstance(cog, AdminCog)
        return cog.admin

    async def sub(self, channel_id: int) -> Subscription:
        found = await self.stores.subscriptions.get_by_channel(channel_id)
        assert found is not None
        return found

    async def run(self, channel_id: int) -> RunReport:
        return await self.publisher.run((await self.sub(channel_id)).id)

    async def delivery(self, channel_id: int, article_id: int) -> Delivery:
        """The delivery record of an article in a channel, read straight from the table."""
        row = await self.stores.db.fetch_one(
            "SELECT * FROM deliveries WHERE channel_id = ? AND article_id = ?",
            (channel_id, article_id),
        )
        assert row is not None, f"no delivery of article {article_id} in {channel_id}"
        return delivery_from_row(row)

    async def ingest(self) -> None:
        await ingestor(self.settings, self.stores).ingest(
            source_paths(self.settings.sources), sources=True
        )

    def posted_urls(self, channel_id: int) -> list[str]:
        return [
            m["embeds"][0]["url"]
            for m in self.fake.messages_in(channel_id)
            if m.get("embeds") and m["author"]["id"] == str(self.fake.state.bot_id)
        ]

    def post_requests(self, channel_id: int) -> int:
        return len(self.fake.calls("POST", f"/channels/{channel_id}/messages"))


class FastNewsBot(NewsBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before re-identifying; the fake needs no such pause."""


@asynccontextmanager
async def running_bot(
    fake: FakeDiscord, settings: Settings, *, fetcher: UrlFetcher | None = None
) -> AsyncIterator[Running]:
    """The bot as ``newsdesk run`` builds it (same wiring), connected to the fake.
    ``fetcher``: what fetches feeds (default: a Fetcher with the settings' policy)."""
    stores = await open_stores(settings)
    try:
        await prepare(settings, stores)
        await ingestor(settings, stores).ingest(source_paths(settings.sources), sources=True)
        own = Fetcher(fetch_policy(settings))
        used: UrlFetcher = fetcher or own
        with patch_discord_py(fake):
            bot = FastNewsBot(
                lambda client: wire(settings, stores, client, fetcher=used),
                guild_ready_timeout=0.05,
            )
            server = health_server(settings, stores, bot)
            if server is not None:
                await server.start()
            stop = asyncio.Event()
            task = asyncio.create_task(bot.serve(TOKEN, stop))
            try:
                await asyncio.wait_for(bot.started_publishing.wait(), timeout=10)
                yield Running(fake, bot, stores, settings, server)
            finally:
                if server is not None:
                    await server.stop()
                stop.set()
                with suppress(discord.ConnectionClosed, asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)
                await bot.close()
                await own.close()
    finally:
        await stores.db.close()
