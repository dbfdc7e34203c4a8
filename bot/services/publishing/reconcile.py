"""Posts whose outcome is unknown (a crash, a 5xx, a timeout) are settled before anything new.

A ``pending`` delivery is looked for in the channel's history — the bot's own message carrying
the article's button or URL, from just before the first attempt to well after the latest one:
found means sent; not found means send again, with the same nonce. When the history cannot be
read, ``publishing.history_unreadable`` decides: ``skip`` records the delivery ``unconfirmed``
and alerts the moderators (never a duplicate), ``resend`` sends it again (never a loss).

The pending deliveries of one digest are settled together, as one message: found by any of
its articles' links, or sent again (without the articles withdrawn or gone meanwhile) under
the title it was first given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from bot.domain.delivery import Delivery, DeliveryState, ThreadState
from bot.domain.digests import DigestItem, digest_title, in_digest_order
from bot.domain.models import Article
from bot.domain.subscription import Subscription
from bot.domain.threads import NoTagPossible, ThreadSpec, thread_too_late
from bot.log import with_ids
from bot.metrics import Metrics
from bot.services.publishing.alerts import Alerts, Pauses
from bot.services.publishing.ports import (
    ChannelInfo,
    ChannelUnavailable,
    HistoryUnavailable,
    Poster,
    TransientError,
)
from bot.services.publishing.sender import DigestRejected, Outgoing, RunReport, Sender
from bot.store.article_reads import ArticleReads
from bot.store.digests import DigestOutbox
from bot.store.outbox import Outbox

log = logging.getLogger(__name__)

# How long after the intent a post can appear in the channel (discord.py's own retries of one
# send take well under a minute); history is searched from just before the intent to this.
SEARCH_WINDOW = timedelta(minutes=10)
SEARCH_BEFORE = timedelta(seconds=30)

HistoryPolicy = Literal["skip", "resend"]
WITHDRAWN = "withdrawn by its source before it could be re-sent"


class Reconciler:
    def __init__(
        self,
        outbox: Outbox,
        digests: DigestOutbox,
        articles: ArticleReads,
        poster: Poster,
        sender: Sender,
        pauses: Pauses,
        alerts: Alerts,
        *,
        history_unreadable: HistoryPolicy,
        clock: Callable[[], datetime],
        metrics: Metrics,
    ) -> None:
        self.outbox = outbox
        self.digests = digests
        self.articles = articles
        self.poster = poster
        self.sender = sender
        self.pauses = pauses
        self.alerts = alerts
        self.history_unreadable = history_unreadable
        self.clock = clock
        self.metrics = metrics

    async def settle(
        self,
        sub: Subscription,
        info: ChannelInfo,
        report: RunReport,
        now: datetime,
        *,
        resend: bool = True,
    ) -> bool:
        """Settle the channel's pending deliveries. False: post nothing new now.

        ``resend`` False: publishing may not happen now (switched off, quiet hours); history
        is still checked and a post found there recorded, but nothing is sent.
        """
        for group in _messages(await self.outbox.open_deliveries(sub.channel_id)):
            if any(d.next_attempt_at is not None and d.next_attempt_at > now for d in group):
                report.not_run = "waiting to retry a failed post"
                return False
            if not await self._settle(sub, group, info, report, resend=resend):
                return False
        if resend:
            await self._owed_threads(sub, info, now)
        return True

    async def _owed_threads(self, sub: Subscription, info: ChannelInfo, now: datetime) -> None:
        """Start the threads of posts confirmed before a crash or a 5xx cut their thread off."""
        for delivery in await self.outbox.owed_threads(sub.channel_id):
            thread, refused = await self._thread_of(sub, delivery, info)
            if thread is None or delivery.message_id is None:
                await self.outbox.mark_thread(
                    sub.channel_id,
                    delivery.article_id,
                    ThreadState.NONE,
                    error="no longer wanted when it could be started",
                )
                continue
            if thread_too_late(sub.spec, delivery.sent_at, now):
                await self.outbox.mark_thread(
                    sub.channel_id,
                    delivery.article_id,
                    ThreadState.NONE,
                    error=f"not started within {sub.spec.thread_archive} of the post; given up",
                )
                continue
            started = await self.sender.threads.start(
                sub, delivery, delivery.message_id, thread, refused=refused
            )
            if not started:
                return  # Discord is in trouble: the next run tries again

    async def _thread_of(
        self, sub: Subscription, delivery: Delivery, info: ChannelInfo
    ) -> tuple[ThreadSpec | None, str | None]:
        """The discussion thread a sent post (or digest) is owed, as it would be started now."""
        article = await self.articles.get(delivery.article_id)
        if article is None:
            return None, None
        if delivery.digest:
            title = digest_title(delivery.intent_at, sub.spec.timezone)
            out = self.sender.digest_outgoing(sub, [DigestItem(article)], info, title)
        else:
            out = self.sender.outgoing(sub, article, info)
        return out.thread, out.thread_refused

    async def _settle(
        self,
        sub: Subscription,
        group: list[Delivery],
        info: ChannelInfo,
        report: RunReport,
        *,
        resend: bool,
    ) -> bool:
        """One message's pending deliveries: a post's one, or a digest's."""
        found_articles = {a.id: a for a in await self.articles.get_many(_ids(group))}
        missing = [d.article_id for d in group if d.article_id not in found_articles]
        if missing:
            await self.outbox.finish(
                sub.channel_id, missing, DeliveryState.FAILED, "article no longer stored"
            )
        group = [d for d in group if d.article_id in found_articles]
        if not group:
            return True
        articles = [found_articles[d.article_id] for d in group]
        try:  # built once: looked for, then maybe re-sent
            out = self._outgoing(sub, group, articles, info)
        except NoTagPossible as exc:
            await self.pauses.pause(sub, str(exc))
            return False
        logger = with_ids(log, **sub.ids, article_id=group[0].article_id)
        try:
            found = await self.poster.find_post(
                sub.channel_id,
                out.post,
                min(d.intent_at for d in group) - SEARCH_BEFORE,
                max(d.last_attempt_at for d in group) + SEARCH_WINDOW,
            )
        except ChannelUnavailable as exc:
            await self.pauses.pause(sub, exc.reason)
            return False
        except TransientError as exc:
            await self.sender.retry_later(sub, group, exc.reason)
            return False
        except HistoryUnavailable as exc:
            self.metrics.post_failures.labels("history_unavailable").inc()
            if self.history_unreadable == "skip":
                await self._unconfirmed(sub, group, articles, exc.reason)
                return True
            found = None  # policy "resend": rather a duplicate than a loss
        if found is not None:
            logger.info("found an unconfirmed post in the channel: %s", out.what)
            await self.sender.confirmed(sub, out.shown, found)
            self.metrics.posts.labels("recovered").inc(len(group))
            report.recovered += _ids(group)
            return True
        withdrawn = [a for a in articles if a.withdrawn_at is not None]
        for article in withdrawn:  # never posted once it left its source
            logger.info("not re-sending %s: withdrawn by its source", article.url)
        if withdrawn:
            await self.outbox.finish(
                sub.channel_id, [a.id or 0 for a in withdrawn], DeliveryState.FAILED, WITHDRAWN
            )
        kept = [(d, a) for d, a in zip(group, articles, strict=True) if a.withdrawn_at is None]
        if not kept:
            return True
        if not resend:
            return False  # publishing is off here: it stays pending until it is switched on
        return await self._resend(sub, info, out, kept, report)

    async def _resend(
        self,
        sub: Subscription,
        info: ChannelInfo,
        out: Outgoing,
        kept: list[tuple[Delivery, Article]],
        report: RunReport,
    ) -> bool:
        logger = with_ids(log, **sub.ids, article_id=kept[0][0].article_id)
        first = kept[0][0]
        if not first.digest:
            logger.info("re-sending a post that never arrived: %s", out.what)
            again = await self.outbox.record_intent(
                sub.channel_id,
                first.article_id,
                subscription_id=sub.id,
                guild_id=sub.guild_id,
                nonce=first.nonce,
                now=self.clock(),
            )
            return await self.sender.deliver(sub, out, [again], report)
        group, articles = [d for d, _ in kept], [a for _, a in kept]
        try:
            out = self._outgoing(sub, group, articles, info)  # without the withdrawn ones
        except NoTagPossible as exc:
            await self.pauses.pause(sub, str(exc))
            return False
        logger.info("re-sending a digest that never arrived: %s", out.what)
        deliveries = await self.digests.record_intent(
            sub.channel_id,
            out.article_ids,
            subscription_id=sub.id,
            guild_id=sub.guild_id,
            nonce=first.nonce,
            now=self.clock(),
            thread_owed=out.thread_owed,  # its first article may be another one now
        )
        try:
            return await self.sender.deliver(sub, out, deliveries, report)
        except DigestRejected:
            return True  # its intents are forgotten: the run's new posts choose them again

    def _outgoing(
        self, sub: Subscription, group: list[Delivery], articles: list[Article], info: ChannelInfo
    ) -> Outgoing:
        if not group[0].digest:
            return self.sender.outgoing(sub, articles[0], info)
        title = digest_title(min(d.intent_at for d in group), sub.spec.timezone)
        items = [DigestItem(a) for a in in_digest_order(articles)]
        return self.sender.digest_outgoing(sub, items, info, title)

    async def _unconfirmed(
        self, sub: Subscription, group: list[Delivery], articles: list[Article], reason: str
    ) -> None:
        """History cannot be read: never re-sent (no duplicate), and the moderators told."""
        why = f"could not check whether it was posted: {reason}"
        logger = with_ids(log, **sub.ids, article_id=group[0].article_id)
        for article in articles:
            logger.warning("not re-sending %s: %s", article.url, why)
        await self.outbox.finish(sub.channel_id, _ids(group), DeliveryState.UNCONFIRMED, why)
        what = f"<{articles[0].url}>"
        if len(articles) > 1:
            what = f"a digest of {len(articles)} articles ({what}, …)"
        await self.alerts.tell(
            sub.guild_id,
            f"⚠️ Newsdesk could not read <#{sub.channel_id}>'s history ({reason}) "
            f"to check whether {what} was posted before a restart; it will not "
            "be re-sent, to avoid a duplicate. Give the bot Read Message History.",
            not_in=sub.channel_id,
        )


def _ids(group: list[Delivery]) -> list[int]:
    return [d.article_id for d in group]


def _messages(pending: list[Delivery]) -> list[list[Delivery]]:
    """Pending deliveries by message, oldest first: a post's alone, a digest's together."""
    groups: dict[tuple[bool, str | int], list[Delivery]] = {}
    for delivery in pending:
        key: tuple[bool, str | int] = (
            (True, delivery.nonce) if delivery.digest else (False, delivery.article_id)
        )
        groups.setdefault(key, []).append(delivery)
    return list(groups.values())
