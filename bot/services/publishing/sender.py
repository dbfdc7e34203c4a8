"""One post, from a recorded intent to its outcome, and what each Discord failure means.

* ChannelUnavailable (403 50001/50013, 404 10003, channel gone or not visible): Discord
  answered, so nothing was created: the intent is forgotten and the subscription paused.
* PostRejected (400 50035): the article is quarantined for that channel; the run goes on.
* TransientError (5xx, network, long rate limits): the outcome is unknown; the delivery stays
  pending and is reconciled, then retried, with exponential backoff, at most
  ``publishing.retry_limit`` attempts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.delivery import Delivery, DeliveryState
from bot.domain.edits import shown_digest
from bot.domain.models import Article
from bot.domain.posts import PostSpec, build_post
from bot.domain.selection import Skip
from bot.domain.subscription import Subscription
from bot.domain.threads import (
    ThreadSpec,
    archive_minutes,
    pick_tags,
    starts_thread,
    thread_name,
)
from bot.log import with_ids
from bot.metrics import Metrics
from bot.services.publishing.alerts import Pauses
from bot.services.publishing.ports import (
    ChannelInfo,
    ChannelUnavailable,
    DeliveryError,
    Posted,
    Poster,
    PostRejected,
    TransientError,
)
from bot.services.publishing.threads import Threads
from bot.store.outbox import Outbox

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


@dataclass(slots=True)
class RunReport:
    subscription_id: int
    channel_id: int
    posted: list[int] = field(default_factory=list)  # article ids
    skipped: list[tuple[int, Skip]] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)  # pending posts found in history
    edited: list[int] = field(default_factory=list)  # posts edited to a changed article
    not_run: str | None = None  # why nothing was tried (switched off, paused, quiet hours...)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One article's post and where it goes in its channel."""

    post: PostSpec
    shown: str  # what it shows (bot.domain.edits.shown_digest)
    forum_post: ThreadSpec | None = None  # a forum: the post is this new thread
    thread: ThreadSpec | None = None  # a discussion thread to start under the message
    thread_refused: str | None = None  # wanted, but the cache says it cannot be started

    @property
    def thread_owed(self) -> bool:
        return self.thread is not None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    limit: int = 5
    backoff: timedelta = timedelta(minutes=1)  # before the first retry; doubles each time

    def delay(self, attempts: int) -> timedelta:
        return min(self.backoff * (1 << max(0, attempts - 1)), MAX_BACKOFF)


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        poster: Poster,
        pauses: Pauses,
        threads: Threads,
        *,
        retry: RetryPolicy,
        excerpt_length: int,
        clock: Callable[[], datetime],
        metrics: Metrics,
    ) -> None:
        self.outbox = outbox
        self.poster = poster
        self.pauses = pauses
        self.threads = threads
        self.retry = retry
        self.excerpt_length = excerpt_length
        self.clock = clock
        self.metrics = metrics

    def post_for(self, sub: Subscription, article: Article) -> PostSpec:
        return build_post(
            article, excerpt_length=self.excerpt_length, mention_role_id=sub.spec.mention_role_id
        )

    def outgoing(self, sub: Subscription, article: Article, info: ChannelInfo) -> Outgoing:
        """The article's post for this channel's kind. Raises NoTagPossible for a forum that
        requires a tag when none can be applied."""
        post = self.post_for(sub, article)
        shown = shown_digest(article)
        minutes = archive_minutes(sub.spec)
        if info.kind.forum:
            tags = pick_tags(
                article.topics,
                info.tags,
                auto=sub.spec.forum_tags == "auto",
                required=info.requires_tag,
                may_moderate=info.may_moderate,
            )
            forum_post = ThreadSpec(thread_name(article.title), minutes, tags)
            return Outgoing(post, shown, forum_post=forum_post)
        if starts_thread(sub.spec, info.kind):
            thread = ThreadSpec(thread_name(article.title), minutes)
            return Outgoing(post, shown, thread=thread, thread_refused=info.thread_problem)
        return Outgoing(post, shown)

    async def deliver(
        self, sub: Subscription, out: Outgoing, delivery: Delivery, report: RunReport
    ) -> bool:
        """Send a post whose intent is recorded. False: do not use the channel again now."""
        article_id = delivery.article_id
        post = out.post
        logger = with_ids(log, **sub.ids, article_id=article_id)
        try:
            if out.forum_post is not None:
                posted: Posted | None = await self.poster.create_forum_post(
                    sub.channel_id, post, out.forum_post
                )
            else:
                posted = await self.poster.send(sub.channel_id, post, delivery.nonce)
        except ChannelUnavailable as exc:
            self.metrics.post_failures.labels("channel_unavailable").inc()
            # Discord answered: nothing was created. Forget the intent, so the article goes out
            # (subject to max_age) once the channel is usable again.
            await self.outbox.cancel(sub.channel_id, article_id)
            await self.pauses.pause(sub, exc.reason)
            report.error = exc.reason
            return False
        except PostRejected as exc:
            self.metrics.post_failures.labels("rejected").inc()
            self.metrics.posts.labels("quarantined").inc()
            logger.warning("Discord rejected the post of %s: %s", post.article_url, exc.reason)
            await self.outbox.finish(
                sub.channel_id, article_id, DeliveryState.QUARANTINED, exc.reason
            )
            report.quarantined.append(article_id)
            return True
        except TransientError as exc:
            self.metrics.post_failures.labels("transient").inc()
            await self.retry_later(sub, delivery, exc.reason)
            report.error = exc.reason
            return False
        await self.confirmed(sub, article_id, posted, out.shown)
        self.metrics.posts.labels("sent").inc()
        message_id = posted.message_id if posted else None
        logger.info("posted %s", post.article_url, extra={"message_id": message_id})
        report.posted.append(article_id)
        if posted is None:
            return True
        if sub.spec.crosspost and out.forum_post is None:
            try:
                await self.poster.crosspost(sub.channel_id, posted.message_id)
            except DeliveryError as exc:
                logger.warning("could not crosspost message %s: %s", message_id, exc.reason)
        if out.thread is not None:
            await self.threads.start(
                sub, delivery, posted.message_id, out.thread, refused=out.thread_refused
            )
        return True

    async def confirmed(
        self, sub: Subscription, article_id: int, posted: Posted | None, shown: str
    ) -> None:
        """The post, showing ``shown``, is in the channel (sent now, or found there after a
        crash: built from the article as it is now, which is what a post made moments before
        showed); None: it went out and a moderator deleted it already."""
        now = self.clock()
        await self.outbox.mark_sent(
            sub.channel_id,
            article_id,
            posted.message_id if posted else None,
            now,
            thread_id=posted.thread_id if posted else None,
            shown=shown,
        )
        self.metrics.last_successful_post.set(now.timestamp())
        await self.pauses.posted(sub)

    async def retry_later(self, sub: Subscription, delivery: Delivery, reason: str) -> None:
        logger = with_ids(log, **sub.ids, article_id=delivery.article_id)
        if delivery.attempts >= self.retry.limit:
            logger.error("giving up on a post after %d attempts: %s", delivery.attempts, reason)
            await self.outbox.finish(
                sub.channel_id, delivery.article_id, DeliveryState.FAILED, reason
            )
            return
        when = self.clock() + self.retry.delay(delivery.attempts)
        logger.warning(
            "post failed (%s); attempt %d of %d, next after %s",
            reason,
            delivery.attempts,
            self.retry.limit,
            when.isoformat(timespec="seconds"),
        )
        await self.outbox.retry_later(sub.channel_id, delivery.article_id, reason, when)
