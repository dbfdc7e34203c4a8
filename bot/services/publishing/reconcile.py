"""Posts whose outcome is unknown (a crash, a 5xx, a timeout) are settled before anything new.

A ``pending`` delivery is looked for in the channel's history — the bot's own message carrying
the article's button or URL, from just before the first attempt to well after the latest one:
found means sent; not found means send again, with the same nonce. When the history cannot be
read, ``publishing.history_unreadable`` decides: ``skip`` records the delivery ``unconfirmed``
and alerts the moderators (never a duplicate), ``resend`` sends it again (never a loss).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from bot.domain.delivery import Delivery, DeliveryState, ThreadState
from bot.domain.subscription import Subscription
from bot.domain.threads import NoTagPossible, thread_too_late
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
from bot.services.publishing.sender import RunReport, Sender
from bot.store.articles import ArticleStore
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
        articles: ArticleStore,
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
        for delivery in await self.outbox.open_deliveries(sub.channel_id):
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                report.not_run = "waiting to retry a failed post"
                return False
            if not await self._settle_one(sub, delivery, info, report, resend=resend):
                return False
        if resend:
            await self._owed_threads(sub, info, now)
        return True

    async def _owed_threads(self, sub: Subscription, info: ChannelInfo, now: datetime) -> None:
        """Start the threads of posts confirmed before a crash or a 5xx cut their thread off."""
        for delivery in await self.outbox.owed_threads(sub.channel_id):
            article = await self.articles.get(delivery.article_id)
            out = self.sender.outgoing(sub, article, info) if article else None
            if out is None or out.thread is None or delivery.message_id is None:
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
                sub, delivery, delivery.message_id, out.thread, refused=out.thread_refused
            )
            if not started:
                return  # Discord is in trouble: the next run tries again

    async def _settle_one(
        self,
        sub: Subscription,
        delivery: Delivery,
        info: ChannelInfo,
        report: RunReport,
        *,
        resend: bool,
    ) -> bool:
        article = await self.articles.get(delivery.article_id)
        if article is None:
            await self.outbox.finish(
                sub.channel_id,
                delivery.article_id,
                DeliveryState.FAILED,
                "article no longer stored",
            )
            return True
        try:  # built once: looked for, then maybe re-sent
            out = self.sender.outgoing(sub, article, info)
        except NoTagPossible as exc:
            await self.pauses.pause(sub, str(exc))
            return False
        post = out.post
        logger = with_ids(log, **sub.ids, article_id=delivery.article_id)
        try:
            found = await self.poster.find_post(
                sub.channel_id,
                post,
                delivery.intent_at - SEARCH_BEFORE,
                delivery.last_attempt_at + SEARCH_WINDOW,
            )
        except ChannelUnavailable as exc:
            await self.pauses.pause(sub, exc.reason)
            return False
        except TransientError as exc:
            await self.sender.retry_later(sub, delivery, exc.reason)
            return False
        except HistoryUnavailable as exc:
            self.metrics.post_failures.labels("history_unavailable").inc()
            if self.history_unreadable == "skip":
                reason = f"could not check whether it was posted: {exc.reason}"
                logger.warning("not re-sending %s: %s", article.url, reason)
                await self.outbox.finish(
                    sub.channel_id, delivery.article_id, DeliveryState.UNCONFIRMED, reason
                )
                await self.alerts.tell(
                    sub.guild_id,
                    f"⚠️ Newsdesk could not read <#{sub.channel_id}>'s history ({exc.reason}) "
                    f"to check whether <{article.url}> was posted before a restart; it will not "
                    "be re-sent, to avoid a duplicate. Give the bot Read Message History.",
                    not_in=sub.channel_id,
                )
                return True
            found = None  # policy "resend": rather a duplicate than a loss
        if found is not None:
            logger.info("found an unconfirmed post in the channel: %s", article.url)
            await self.sender.confirmed(sub, delivery.article_id, found, out.shown)
            self.metrics.posts.labels("recovered").inc()
            report.recovered.append(delivery.article_id)
            return True
        if article.withdrawn_at is not None:  # never posted once it left its source
            logger.info("not re-sending %s: withdrawn by its source", article.url)
            await self.outbox.finish(
                sub.channel_id, delivery.article_id, DeliveryState.FAILED, WITHDRAWN
            )
            return True
        if not resend:
            return False  # publishing is off here: it stays pending until it is switched on
        logger.info("re-sending a post that never arrived: %s", article.url)
        again = await self.outbox.record_intent(
            sub.channel_id,
            delivery.article_id,
            subscription_id=sub.id,
            guild_id=sub.guild_id,
            nonce=delivery.nonce,
            now=self.clock(),
        )
        return await self.sender.deliver(sub, out, again, report)
