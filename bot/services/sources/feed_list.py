"""The feeds to poll, in priority order: the config file's (global, in its order), then those
moderators added from Discord (each visible to its own server only, oldest first).

A :class:`Feed` is what the poller needs of either kind. :class:`ServerFeeds` keeps the
servers' feeds in memory (the poll loop looks every second) and is told when one is added or
removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.settings import SourceSettings
from bot.settings.sources import feed_sources
from bot.store.server_sources import ServerSource, ServerSourceStore


@dataclass(frozen=True, slots=True)
class Feed:
    key: str  # its identity in the store (sources.key, files.path)
    display: str  # how it is shown: the URL, redacted
    url: str  # what is fetched (a configured one's ${NAME} expanded): never shown
    topics: tuple[str, ...]
    quality: float
    provider: str | None
    interval: timedelta
    guild_id: int | None = None  # a server's own feed; None: from the config file (global)
    url_shown: bool = True  # False: the URL holds secrets, so a new one is not shown either

    @property
    def trusted(self) -> bool:
        """Whether ``fetch.allow_networks`` applies (config-file feeds only)."""
        return self.guild_id is None


def configured_feed(source: SourceSettings) -> Feed:
    return Feed(
        key=source.key,
        display=source.display,
        url=source.url,
        topics=source.topics,
        quality=source.quality,
        provider=source.provider,
        interval=source.interval,
        url_shown=source.url == source.feed,
    )


def server_feed(source: ServerSource) -> Feed:
    return Feed(
        key=source.key,
        display=source.url,  # credentials are refused when it is added
        url=source.url,
        topics=source.topics,
        quality=source.quality,
        provider=None,
        interval=source.interval,
        guild_id=source.guild_id,
    )


class ServerFeeds:
    """The servers' feeds, loaded once and reloaded after a change."""

    def __init__(self, store: ServerSourceStore) -> None:
        self.store = store
        self._feeds: list[Feed] | None = None

    async def feeds(self) -> list[Feed]:
        if self._feeds is None:
            self._feeds = [server_feed(source) for source in await self.store.all()]
        return self._feeds

    def changed(self) -> None:
        self._feeds = None


class FeedList:
    """Every feed, in priority order (which decides whose fields an article shows)."""

    def __init__(
        self, sources: Sequence[SourceSettings], servers: ServerFeeds | None = None
    ) -> None:
        self.configured = [configured_feed(source) for source in feed_sources(sources)]
        self.servers = servers

    async def feeds(self) -> list[Feed]:
        if self.servers is None:
            return list(self.configured)
        return self.configured + await self.servers.feeds()
