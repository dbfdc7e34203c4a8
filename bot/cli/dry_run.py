"""``newsdesk run --dry-run``: ingest the sources, then show what the next runs would post.

Nothing is sent and nothing is recorded: a second dry run prints the same. Where a
subscription would post nothing, it says why, with the near misses and their reasons (the
same explanation as ``/newsadmin preview``). Without Discord some things cannot be known —
whether the bot may post in a channel, which server it is in — and the output says so.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import IO

from bot.cli.process import EXIT_OK
from bot.domain.digests import DigestItem, digest_title, in_digest_order
from bot.domain.post_text import WIDTH, render_text, shown_date, wrap
from bot.domain.selection import Candidate, Skip
from bot.domain.subscription import State, Subscription, standing
from bot.domain.text import quality_text
from bot.errors import ConfigError
from bot.metrics import Metrics
from bot.services.ingest.discovery import SourceError
from bot.services.publishing.offline import OfflinePoster
from bot.services.publishing.selector import Explanation
from bot.settings import Settings
from bot.settings.sources import source_paths
from bot.store.times import utcnow
from bot.wiring import Publishing, Stores, build_publishing, ingestor, open_stores, prepare

log = logging.getLogger(__name__)

SHOWN_MISSES = 5
CANNOT_KNOW = (
    "A dry run cannot see Discord: it does not know whether the bot may post in these "
    "channels, which server they are in (and so that server's own publishing switch), or "
    "whether Discord would accept each post; a real run checks all of that first."
)


async def dry_run_command(settings: Settings, out: IO[str]) -> int:
    """Ingest the sources, then print every post the next run would make, in order."""
    stores = await open_stores(settings)
    try:
        await prepare(settings, stores)
        await _ingest(settings, stores)
        publishing = build_publishing(settings, stores, OfflinePoster(), Metrics())
        total = 0
        subscriptions = await stores.subscriptions.list()
        if not subscriptions:
            out.write("No subscriptions are configured: nothing would be posted.\n")
        now = utcnow()
        for sub in subscriptions:
            total += await _show(sub, publishing, stores, now, out)
        plural = "s" if total != 1 else ""
        out.write(f"{total} post{plural} would be made (dry run: nothing sent)\n")
        out.write("\n".join(wrap(CANNOT_KNOW, WIDTH)) + "\n")
        out.flush()
        return EXIT_OK
    finally:
        await stores.db.close()


async def _ingest(settings: Settings, stores: Stores) -> None:
    paths = source_paths(settings.sources)  # feeds are not fetched in a dry run
    if not paths:
        return
    try:
        summary = await ingestor(settings, stores).ingest(paths, sources=True)
    except SourceError as exc:
        raise ConfigError([f"sources: {exc}"]) from None
    log.info("ingest: %s", summary.describe())
    for rejection in summary.rejected:
        log.warning("rejected %s", rejection)


async def _show(
    sub: Subscription, publishing: Publishing, stores: Stores, now: datetime, out: IO[str]
) -> int:
    """Print one subscription's next posts, or its next digest (or why there are none);
    return how many messages."""
    where = f"channel {sub.channel_id}"
    server_on = await publishing.guilds.publishing_enabled(sub.guild_id)
    state = standing(sub, server_on)
    if state.state is not State.ON:
        out.write(f"{where}: nothing ({state.why_not()})\n")
        return 0
    explanation = await publishing.selector.explain(sub, now)
    chosen = explanation.selection.chosen
    articles = await stores.articles.get_many([c.article_id for c in chosen])
    if not articles:
        out.write("\n".join(_nothing(where, explanation)) + "\n")
        return 0
    if sub.digest:
        items = [DigestItem(a) for a in in_digest_order(articles)]
        title = digest_title(now, sub.spec.timezone)
        out.write(render_text(publishing.sender.digest_post(sub, items, title), where) + "\n")
        return 1
    for article in articles:
        out.write(render_text(publishing.sender.post_for(sub, article), where) + "\n")
    return len(articles)


def _nothing(where: str, explanation: Explanation) -> list[str]:
    misses = explanation.near_misses
    if not misses:
        return [f"{where}: nothing to post: no stored article matches its topics"]
    counts = Counter(reason for _, found in misses for reason in found)
    why = "; ".join(f"{n} {reason.value}" for reason, n in counts.most_common())
    lines = wrap(f"{where}: nothing to post. Of the {len(misses)} nearest misses: {why}.", WIDTH)
    for candidate, found in misses[:SHOWN_MISSES]:
        lines += wrap(_miss(candidate, found), WIDTH, "  • ", "    ")
    return lines


def _miss(candidate: Candidate, found: tuple[Skip, ...]) -> str:
    why = ", ".join(reason.value for reason in found)
    when = shown_date(candidate.published_at)
    return f"{candidate.title} ({quality_text(candidate.quality)}, {when}) — {why}"
