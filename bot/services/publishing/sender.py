"""One post (or one digest, for every article it carries), from the recorded intents to the
outcome, and what each Discord failure means.

* ChannelUnavailable (403 50001/50013, 404 10003, channel gone or not visible): Discord
  answered, so nothing was created: the intent is forgotten and the subscription paused.
* PostRejected (400 50035): the article is quarantined for that channel; the run goes on. A
  digest of several articles is sent again in smaller digests instead (DigestRejected).
* TransientError (5xx, network, long rate limits): the outcome is unknown; the delivery stays
  pending and is reconciled, then retried, with exponential backoff, at most
  ``publishing.retry_limit`` attempts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.delivery import Delivery, DeliveryState, ThreadState
from bot.domain.digests import DigestItem, build_digest
from bot.domain.edits import WITHDRAWN_SHOWN, shown_digest
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
    """One message (an article's post, or a digest) and where it goes in its channel."""

    post: PostSpec
    # each article it carries, in order, with what it shows of it (bot.domain.edits)
    shown: tuple[tuple[int, str], ...]
    forum_post: ThreadSpec | None = None  # a forum: the post is this new thread
    thread: ThreadSpec | None = None  # a discussion thread to start under the message
    thread_refused: str | None = None  # wanted, but the cache says it cannot be started

    @property
    def thread_owed(self) -> bool:
        return self.thread is not None

    @property
    def article_ids(self) -> list[int]:
        return [article_id for article_id, _ in self.shown]

    @property
    def what(self) -> str:
        """What the message is, for logs."""
        if self.post.digest_urls:
            return f"a digest of {len(self.shown)} articles"
        return self.post.article_url


class DigestRejected(Exception):
    """Discord rejected a digest of several articles as malformed: nothing was created and its
    intents are forgotten; the caller sends it again in smaller digests, so that only the
    article to blame is quarantined."""


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
        assert article.id is not None
        post = self.post_for(sub, article)
        return self._placed(
            sub, info, post, ((article.id, shown_digest(article)),), article.title, article.topics
        )

    def digest_outgoing(
        self, sub: Subscription, items: Sequence[DigestItem], info: ChannelInfo, title: str
    ) -> Outgoing:
        """A digest of ``items`` titled ``title``, for this channel's kind (its forum post or
        thread is named by the title, its tags are those of its articles' topics). Raises
        NoTagPossible like outgoing."""
        post = self.digest_post(sub, items, title)
        shown = tuple(
            (item.article.id, WITHDRAWN_SHOWN if item.withdrawn else shown_digest(item.article))
            for item in items
            if item.article.id is not None
        )
        topics = [topic for item in items for topic in item.article.topics]
        return self._placed(sub, info, post, shown, title, topics)

    def digest_post(self, sub: Subscription, items: Sequence[DigestItem], title: str) -> PostSpec:
        return build_digest(
            items,
            title=title,
            excerpt_length=self.excerpt_length,
            mention_role_id=sub.spec.mention_role_id,
        )

    def _placed(
        self,
        sub: Subscription,
        info: ChannelInfo,
        post: PostSpec,
        shown: tuple[tuple[int, str], ...],
        title: str,
        topics: Sequence[str],
    ) -> Outgoing:
        minutes = archive_minutes(sub.spec)
        if info.kind.forum:
            tags = pick_tags(
                topics,
                info.tags,
                auto=sub.spec.forum_tags == "auto",
                required=info.requires_tag,
                may_moderate=info.may_moderate,
            )
            forum_post = ThreadSpec(thread_name(title), minutes, tags)
            return Outgoing(post, shown, forum_post=forum_post)
        if starts_thread(sub.spec, info.kind):
            thread = ThreadSpec(thread_name(title), minutes)
            return Outgoing(post, shown, thread=thread, thread_refused=info.thread_problem)
        return Outgoing(post, shown)

    async def deliver(
        self,
        sub: Subscription,
        out: Outgoing,
        deliveries: Sequence[Delivery],
        report: RunReport,
    ) -> bool:
        """Send a message whose intents (one per article it carries, in ``out``'s order) are
        recorded. False: do not use the channel again now."""
        ids = [d.article_id for d in deliveries]
        post = out.post
        logger = with_ids(log, **sub.ids, article_id=ids[0])
        try:
            if out.forum_post is not None:
                posted: Posted | None = await self.poster.create_forum_post(
                    sub.channel_id, post, out.forum_post
                )
            else:
                posted = await self.poster.send(sub.channel_id, post, deliveries[0].nonce)
        except ChannelUnavailable as exc:
            self.metrics.post_failures.labels("channel_unavailable").inc()
            # Discord answered: nothing was created. Forget the intent, so the article goes out
            # (subject to max_age) once the channel is usable again.
            await self.outbox.cancel(sub.channel_id, ids)
            await self.pauses.pause(sub, exc.reason)
            report.error = exc.reason
            return False
        except PostRejected as exc:
            self.metrics.post_failures.labels("rejected").inc()
            if len(ids) > 1:  # one article is to blame, most likely: try smaller digests
                logger.warning("Discord rejected %s: %s", out.what, exc.reason)
                await self.outbox.cancel(sub.channel_id, ids)
                raise DigestRejected(exc.reason) from exc
            self.metrics.posts.labels("quarantined").inc()
            logger.warning("Discord rejected the post of %s: %s", out.what, exc.reason)
            await self.outbox.finish(sub.channel_id, ids, DeliveryState.QUARANTINED, exc.reason)
            report.quarantined += ids
            return True
        except TransientError as exc:
            self.metrics.post_failures.labels("transient").inc()
            await self.retry_later(sub, deliveries, exc.reason)
            report.error = exc.reason
            return False
        await self.confirmed(sub, out.shown, posted)
        self.metrics.posts.labels("sent").inc(len(ids))
        message_id = posted.message_id if posted else None
        logger.info("posted %s", out.what, extra={"message_id": message_id})
        report.posted += ids
        if posted is None:
            return True
        if sub.spec.crosspost and out.forum_post is None:
            try:
                await self.poster.crosspost(sub.channel_id, posted.message_id)
            except DeliveryError as exc:
                logger.warning("could not crosspost message %s: %s", message_id, exc.reason)
        if out.thread is not None:  # recorded as owed on one of them (the first, at first)
            owed = next((d for d in deliveries if d.thread_state is ThreadState.OWED), None)
            await self.threads.start(
                sub,
                owed or deliveries[0],
                posted.message_id,
                out.thread,
                refused=out.thread_refused,
            )
        return True

    async def confirmed(
        self, sub: Subscription, shown: Sequence[tuple[int, str]], posted: Posted | None
    ) -> None:
        """The message, showing ``shown`` of each article it carries, is in the channel (sent
        now, or found there after a crash: built from the articles as they are now, which is
        what a message made moments before showed); None: it went out and a moderator deleted
        it already."""
        now = self.clock()
        await self.outbox.mark_all_sent(
            sub.channel_id,
            shown,
            posted.message_id if posted else None,
            now,
            thread_id=posted.thread_id if posted else None,
        )
        self.metrics.last_successful_post.set(now.timestamp())
        await self.pauses.posted(sub)

    async def retry_later(
        self, sub: Subscription, deliveries: Sequence[Delivery], reason: str
    ) -> None:
        """The outcome of a message is unknown: retry it later, or give up after the limit."""
        ids = [d.article_id for d in deliveries]
        attempts = max(d.attempts for d in deliveries)
        logger = with_ids(log, **sub.ids, article_id=ids[0])
        if attempts >= self.retry.limit:
            logger.error("giving up on a post after %d attempts: %s", attempts, reason)
            await self.outbox.finish(sub.channel_id, ids, DeliveryState.FAILED, reason)
            return
        when = self.clock() + self.retry.delay(attempts)
        logger.warning(
            "post failed (%s); attempt %d of %d, next after %s",
            reason,
            attempts,
            self.retry.limit,
            when.isoformat(timespec="seconds"),
        )
        await self.outbox.retry_later(sub.channel_id, ids, reason, when)
