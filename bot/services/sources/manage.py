"""Feeds that moderators add, remove, list and try out from Discord (/newsadmin source ...).

Each belongs to the moderator's server (bot.domain.server_sources says what it may be): it
is fetched with public addresses only, its articles are visible to that server only, and a
server may have at most ``fetch.max_sources_per_server``. Every change is recorded like any
moderator action and takes effect on the poller's next look (within a second).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from yarl import URL

from bot.domain.feeds import FeedSourceFields, feed_articles
from bot.domain.ingest.rejections import Rejection
from bot.domain.models import Article
from bot.domain.server_sources import (
    InvalidServerSource,
    check_interval,
    check_quality,
    check_topics,
    feed_url,
    server_source_key,
)
from bot.domain.values import format_duration
from bot.errors import UserFacingError
from bot.net.addresses import refusal
from bot.net.fetch import UrlFetcher
from bot.services.admin import Actor
from bot.services.ingest.worker import FeedTask
from bot.services.sources.feed_list import ServerFeeds
from bot.services.sources.parsing import parse_feeds
from bot.settings.sources import DEFAULT_FEED_INTERVAL, DEFAULT_FEED_QUALITY
from bot.store.server_sources import (
    ServerSource,
    ServerSourceExistsError,
    ServerSourceLimitError,
    ServerSourceStore,
)
from bot.store.sources import SourceState

TEST_ITEMS = 5  # what /newsadmin source test shows of a feed
EXCERPT_CHARS = 300


@dataclass(frozen=True, slots=True)
class FeedTrial:
    """What one fetch of a feed would store (nothing is stored)."""

    url: str
    status: int | None
    title: str | None
    items: list[Article]
    total: int  # items it would store
    rejected: list[Rejection]


class SourceManager:
    def __init__(
        self,
        store: ServerSourceStore,
        servers: ServerFeeds,
        record: Callable[[Actor, str], Awaitable[None]],
        *,
        fetcher: UrlFetcher | None,
        limit: int,
        shared: int,
        workers: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.servers = servers
        self.record = record  # the audit log and the server's log channel
        self.fetcher = fetcher
        self.limit = limit
        self.shared = shared  # the config's sources, which every server shares
        self.workers = workers
        self.clock = clock

    async def add(
        self,
        who: Actor,
        url: str,
        topics: tuple[str, ...] = (),
        quality: float | None = None,
        interval: timedelta | str | None = None,
    ) -> ServerSource:
        try:
            url = _public_url(url)
            topics = check_topics(topics)
            quality = check_quality(DEFAULT_FEED_QUALITY if quality is None else quality)
            interval = check_interval(DEFAULT_FEED_INTERVAL if interval is None else interval)
        except InvalidServerSource as exc:
            raise UserFacingError(exc.message) from None
        try:
            source = await self.store.add(
                who.guild_id,
                url,
                topics=topics,
                quality=quality,
                interval=interval,
                added_by=who.user_id,
                at=self.clock(),
                limit=self.limit,
            )
        except ServerSourceExistsError:
            raise UserFacingError(f"This server already has the feed <{url}>.") from None
        except ServerSourceLimitError as exc:
            raise UserFacingError(
                f"This server has {exc.limit} feeds, as many as it may have "
                "(`fetch.max_sources_per_server` in the config): remove one first with "
                "`/newsadmin source remove`."
            ) from None
        self.servers.changed()
        await self.record(
            who,
            f"added the feed <{url}> (quality {quality:g}, every {format_duration(interval)})",
        )
        return source

    async def remove(self, who: Actor, url: str) -> ServerSource:
        try:
            url = feed_url(url)
        except InvalidServerSource as exc:
            raise UserFacingError(exc.message) from None
        source = await self.store.remove(who.guild_id, url)
        if source is None:
            raise UserFacingError(
                f"This server has no feed <{url}>: `/newsadmin sources` lists its feeds."
            )
        self.servers.changed()
        await self.record(who, f"removed the feed <{url}>")
        return source

    async def listing(self, guild_id: int) -> list[tuple[ServerSource, SourceState]]:
        return await self.store.of_guild(guild_id)

    async def urls(self, guild_id: int, typed: str) -> list[str]:
        """The server's feed URLs that contain what was typed (for autocomplete)."""
        typed = typed.strip().lower()
        return [s.url for s, _ in await self.store.of_guild(guild_id) if typed in s.url.lower()]

    async def trial(
        self, url: str, topics: tuple[str, ...] = (), quality: float | None = None
    ) -> FeedTrial:
        """Fetch ``url`` once, as a server's feed would be, and parse it; store nothing."""
        try:
            url = _public_url(url)
            topics = check_topics(topics)
            quality = check_quality(DEFAULT_FEED_QUALITY if quality is None else quality)
        except InvalidServerSource as exc:
            raise UserFacingError(exc.message) from None
        if self.fetcher is None:
            raise UserFacingError("This bot fetches no feeds (a dry run): nothing to test.")
        result = await self.fetcher.fetch(url, use_allow_networks=False)
        if result.outcome != "ok":
            status = f" (HTTP {result.status})" if result.status else ""
            raise UserFacingError(f"Could not fetch <{url}>{status}: {result.error}.")
        key = server_source_key(0, url)
        [document] = await parse_feeds(
            [FeedTask(key, result.url, result.body, result.content_type)], workers=self.workers
        )
        if document.error:
            raise UserFacingError(f"<{url}> is not a feed Newsdesk can read: {document.error}.")
        mapped, rejected = feed_articles(
            document,
            FeedSourceFields(topics, quality, None),
            known={},
            now=self.clock(),
            source=url,
            excerpt_chars=EXCERPT_CHARS,
        )
        return FeedTrial(
            url=url,
            status=result.status,
            title=document.title,
            items=[one.article for one in mapped[:TEST_ITEMS]],
            total=len(mapped),
            rejected=rejected,
        )


def _public_url(text: str) -> str:
    """The URL, refused at once when its host is a literal address it may not reach (a name
    is checked when it is fetched, on every fetch and redirect)."""
    url = feed_url(text)
    host = (URL(url).host or "").strip("[]")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return url
    why = refusal(host)
    if why is not None:
        raise InvalidServerSource(f"Newsdesk does not fetch that address: {why}.")
    return url
