"""``newsdesk run --dry-run``: ingest the sources, then show what the next runs would post."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import IO

from bot.app import build_publisher, open_stores, prepare
from bot.domain.posts import PostSpec, render_text
from bot.errors import ConfigError
from bot.services.ingest.discovery import SourceError
from bot.services.ingest.ingestor import Ingestor
from bot.services.publisher import ChannelInfo
from bot.settings import Settings

log = logging.getLogger(__name__)


class OfflinePoster:
    """The Poster of a dry run: every channel looks usable and nothing can be sent."""

    def ready(self) -> bool:
        return True

    def channel_info(self, channel_id: int) -> ChannelInfo | None:
        return ChannelInfo(None, f"channel {channel_id}")

    async def send(self, channel_id: int, post: PostSpec, nonce: str) -> int | None:
        raise RuntimeError("a dry run sends nothing")

    async def find_post(
        self, channel_id: int, post: PostSpec, since: datetime, until: datetime
    ) -> int | None:
        return None

    async def crosspost(self, channel_id: int, message_id: int) -> None:
        raise RuntimeError("a dry run sends nothing")

    async def alert(self, channel_id: int, text: str) -> None:
        raise RuntimeError("a dry run sends nothing")


async def dry_run_command(settings: Settings, out: IO[str]) -> int:
    """Ingest the sources, then print every post the next run would make, in order."""
    stores = await open_stores(settings)
    try:
        await prepare(settings, stores)
        ingestor = Ingestor(stores.articles, settings.ingest)
        paths = [s.path for s in settings.sources]
        if paths:
            try:
                summary = await ingestor.ingest(paths)
            except SourceError as exc:
                raise ConfigError([f"sources: {exc}"]) from None
            log.info("ingest: %s", summary.describe())
            for rejection in summary.rejected:
                log.warning("rejected %s", rejection)
        publisher = build_publisher(settings, stores, OfflinePoster())
        total = 0
        subscriptions = await stores.subscriptions.list()
        if not subscriptions:
            out.write("No subscriptions are configured: nothing would be posted.\n")
        for sub in subscriptions:
            where = f"channel {sub.channel_id}"
            if not sub.active:
                reason = sub.paused_reason or "switched off"
                out.write(f"{where}: nothing ({reason})\n")
                continue
            selection = await publisher.selection(sub)
            articles = await stores.articles.get_many([c.article_id for c in selection.chosen])
            if not articles:
                out.write(f"{where}: nothing to post\n")
            for article in articles:
                out.write(render_text(publisher.post_for(sub, article), where) + "\n")
                total += 1
        out.write(
            f"{total} post{'s' if total != 1 else ''} would be made (dry run: nothing sent)\n"
        )
        out.flush()
        return 0
    finally:
        await stores.db.close()
