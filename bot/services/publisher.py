"""Publishing: select, post through a Poster, record; exactly once per channel.

For every article: record the intent (``pending``), send with a nonce derived from channel
and article URL, record the message id (``sent``). A ``pending`` delivery found later (crash,
5xx, timeout) is reconciled against the channel's history before anything is resent, so a
crash at any moment, followed by a restart however late, neither loses nor duplicates a post.

Failures (classified by the Poster):
* ChannelUnavailable (403 50001/50013, 404 10003, channel gone or not visible): the
  subscription is paused with the reason, moderators are alerted once, nothing more is sent.
* PostRejected (400 50035): the article is quarantined for that channel, the run goes on.
* TransientError (5xx, network, long rate limits): the delivery stays pending and is retried
  on a later run, with exponential backoff, at most ``publishing.retry_limit`` attempts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.models import Article
from bot.domain.posts import PostSpec, build_post
from bot.domain.selection import PERMANENT_SKIPS, Policy, Selection, Skip, select
from bot.domain.subscription import Subscription
from bot.metrics import Metrics
from bot.settings import Settings
from bot.store.articles import ArticleStore
from bot.store.db import utcnow
from bot.store.deliveries import Delivery, DeliveryStore
from bot.store.subscriptions import GuildStore, SubscriptionStore

log = logging.getLogger(__name__)

# How long after the intent a post can appear in the channel (discord.py's own retries of one
# send take well under a minute); history is searched from just before the intent to this.
SEARCH_WINDOW = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)
NONCE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class DeliveryError(Exception):
    """Why a post could not be made (classified for the publisher by the Poster)."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class ChannelUnavailable(DeliveryError):
    """The channel is gone or the bot may not post there: pause the subscription."""


class PostRejected(DeliveryError):
    """Discord refused this post as malformed: quarantine the article for that channel."""


class TransientError(DeliveryError):
    """5xx, network trouble, a long rate limit: the outcome is unknown, try again later."""


class HistoryUnavailable(DeliveryError):
    """The channel's history cannot be read (no Read Message History)."""


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    guild_id: int | None
    name: str
    problem: str | None = None  # why the bot cannot post there now; None: it can


class Poster(Protocol):
    """The Discord side of publishing (DiscordPoster; tests use the real one on a fake Discord)."""

    def ready(self) -> bool:
        """Connected, with every guild available: channel_info can be trusted."""

    def channel_info(self, channel_id: int) -> ChannelInfo | None:
        """What the gateway cache knows; None when the channel is unknown to the bot."""

    async def send(self, channel_id: int, post: PostSpec, nonce: str) -> int | None:
        """Send the post; return the message id (None: a moderator already deleted it).

        Raises DeliveryError subclasses.
        """

    async def find_post(
        self, channel_id: int, post: PostSpec, since: datetime, until: datetime
    ) -> int | None:
        """The id of the bot's message for this post sent in [since, until], if any."""

    async def crosspost(self, channel_id: int, message_id: int) -> None: ...

    async def alert(self, channel_id: int, text: str) -> None: ...


def nonce_for(channel_id: int, article_url: str) -> str:
    """Deterministic, at most 25 characters, different per channel and per article."""
    digest = hashlib.blake2b(f"{channel_id}\n{article_url}".encode(), digest_size=15).digest()
    number = int.from_bytes(digest, "big")
    chars: list[str] = []
    while number and len(chars) < 23:
        number, rest = divmod(number, 36)
        chars.append(NONCE_ALPHABET[rest])
    return "nd" + "".join(chars)


@dataclass(slots=True)
class RunReport:
    subscription_id: int
    channel_id: int
    posted: list[int] = field(default_factory=list)  # article ids
    skipped: list[tuple[int, Skip]] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)  # pending posts found in history
    not_run: str | None = None  # why nothing was tried (disabled, paused, quiet hours...)
    error: str | None = None


class Publisher:
    """Runs subscriptions. One per process; the DB, not the scheduler, records what went out."""

    def __init__(
        self,
        *,
        settings: Settings,
        articles: ArticleStore,
        subscriptions: SubscriptionStore,
        deliveries: DeliveryStore,
        guilds: GuildStore,
        poster: Poster,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.articles = articles
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self.guilds = guilds
        self.poster = poster
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.sleep = sleep
        self._locks: dict[int, asyncio.Lock] = {}
        self.stopping = False
        self.last_success: datetime | None = None  # the last post that went out
        self.last_run_ok: datetime | None = None  # the last run that ended without an error

    # ------------------------------------------------------------------ policy

    def policy(self, sub: Subscription) -> Policy:
        return Policy.of(
            sub.spec, respect_source_published=self.settings.ingest.trust_published_flag
        )

    async def publishing_enabled(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.settings.publishing.enabled
        setting = (await self.guilds.get(guild_id)).publishing_enabled
        return self.settings.publishing.enabled if setting is None else setting

    async def log_channel(self, guild_id: int | None) -> int | None:
        """The guild's log channel, else the config's default when that is in the same guild
        (one server's alerts never go to another server)."""
        if guild_id is not None:
            own = (await self.guilds.get(guild_id)).log_channel_id
            if own is not None:
                return own
        default = self.settings.moderation.log_channel_id
        if default is None:
            return None
        info = self.poster.channel_info(default)
        if info is not None and info.guild_id == guild_id:
            return default
        return None

    def in_quiet_hours(self, sub: Subscription, now: datetime) -> bool:
        quiet = sub.spec.quiet_hours
        if quiet is None:
            return False
        local = now.astimezone(ZoneInfo(sub.spec.timezone)).time()
        return quiet.contains(local)

    async def selection(self, sub: Subscription, now: datetime | None = None) -> Selection:
        """What the next run would post, and why the near misses would not go."""
        now = now or self.clock()
        policy = self.policy(sub)
        candidates = await self.deliveries.candidates(
            sub.channel_id, policy, sub.spec.topics, now, limit=policy.max_per_run * 3 + 10
        )
        return select(candidates, policy, now)

    # ------------------------------------------------------------------ runs

    def _lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    async def run(self, subscription_id: int, *, force: bool = False) -> RunReport:
        """One publishing run of one subscription (scheduled, or ``post-now`` with force)."""
        sub = await self.subscriptions.get(subscription_id)
        if sub is None:
            return RunReport(subscription_id, 0, not_run="no such subscription")
        async with self._lock(sub.channel_id):
            fresh = await self.subscriptions.get(subscription_id)  # it may have changed meanwhile
            if fresh is None:
                return RunReport(subscription_id, sub.channel_id, not_run="no such subscription")
            sub = fresh
            report = RunReport(sub.id, sub.channel_id)
            try:
                await self._run(sub, report, force)
            except Exception as exc:  # one subscription's bug must not stop the others
                log.exception(
                    "publishing run failed",
                    extra={
                        "subscription_id": sub.id,
                        "channel_id": sub.channel_id,
                        "guild_id": sub.guild_id,
                    },
                )
                report.error = f"{type(exc).__name__}: {exc}"
            self._count_run(report)
            return report

    def _count_run(self, report: RunReport) -> None:
        now = self.clock()
        outcome = (
            "error"
            if report.error
            else "not_run"
            if report.not_run
            else "posted"
            if report.posted or report.recovered
            else "nothing_to_post"
        )
        self.metrics.publish_runs.labels(outcome).inc()
        self.metrics.last_publish_run.set(now.timestamp())
        if report.error is None and report.not_run is None:
            self.last_run_ok = now

    async def _run(self, sub: Subscription, report: RunReport, force: bool) -> None:
        now = self.clock()
        ids = {"subscription_id": sub.id, "channel_id": sub.channel_id, "guild_id": sub.guild_id}
        if not sub.spec.enabled:
            report.not_run = "switched off by a moderator"
            return
        if not self.poster.ready():
            report.not_run = "not connected to Discord"
            return
        if sub.paused_reason is not None:
            report.not_run = f"paused: {sub.paused_reason}"
            return
        info = self.poster.channel_info(sub.channel_id)
        if info is not None and info.guild_id != sub.guild_id:
            await self.subscriptions.set_guild(sub.id, info.guild_id)
            sub = await self.subscriptions.get(sub.id) or sub
        if not await self.publishing_enabled(sub.guild_id):
            report.not_run = "publishing is switched off for this server"
            return
        if not force and self.in_quiet_hours(sub, now):
            report.not_run = "quiet hours"
            return
        problem = "the channel is unknown to the bot" if info is None else info.problem
        if problem is not None:
            await self._pause(sub, problem)
            report.not_run = f"paused: {problem}"
            return
        await self.subscriptions.mark_run(sub.id, now)

        if not await self._reconcile_channel(sub, report, now):
            return
        selection = await self.selection(sub, now)
        permanent = []
        for candidate, reason in selection.skipped:
            if reason in PERMANENT_SKIPS:
                log.info(
                    "not posting %s: %s (article %s)",
                    candidate.url,
                    reason.value,
                    candidate.same_story_as,
                    extra={**ids, "article_id": candidate.article_id},
                )
                permanent.append(
                    (candidate.article_id, f"{reason.value} (article {candidate.same_story_as})")
                )
        report.skipped = [(c.article_id, r) for c, r in selection.skipped]
        if permanent:
            self.metrics.posts.labels("skipped").inc(len(permanent))
        await self.deliveries.record_skips(
            sub.channel_id, permanent, subscription_id=sub.id, guild_id=sub.guild_id, now=now
        )
        for number, candidate in enumerate(selection.chosen):
            if self.stopping:
                break
            if number:
                await self.sleep(self.settings.publishing.pace.total_seconds())
            article = await self.articles.get(candidate.article_id)
            if article is None:
                continue
            delivery = await self.deliveries.record_intent(
                sub.channel_id,
                candidate.article_id,
                subscription_id=sub.id,
                guild_id=sub.guild_id,
                nonce=nonce_for(sub.channel_id, article.url),
                now=self.clock(),
            )
            if delivery.state != "pending":
                continue
            if not await self._deliver(sub, article, delivery, report):
                break

    async def _deliver(
        self, sub: Subscription, article: Article, delivery: Delivery, report: RunReport
    ) -> bool:
        """Send one post. False when the channel must not be used any more in this run."""
        assert article.id is not None
        ids = {
            "subscription_id": sub.id,
            "channel_id": sub.channel_id,
            "guild_id": sub.guild_id,
            "article_id": article.id,
        }
        post = self.post_for(sub, article)
        try:
            message_id = await self.poster.send(sub.channel_id, post, delivery.nonce)
        except ChannelUnavailable as exc:
            self.metrics.post_failures.labels("channel_unavailable").inc()
            # Discord answered: nothing was created. Forget the intent, so the article goes out
            # (subject to max_age) once the channel is usable again.
            await self.deliveries.cancel(sub.channel_id, article.id)
            await self._pause(sub, exc.reason)
            report.error = exc.reason
            return False
        except PostRejected as exc:
            self.metrics.post_failures.labels("rejected").inc()
            self.metrics.posts.labels("quarantined").inc()
            log.warning("Discord rejected the post of %s: %s", article.url, exc.reason, extra=ids)
            await self.deliveries.finish(sub.channel_id, article.id, "quarantined", exc.reason)
            report.quarantined.append(article.id)
            return True
        except TransientError as exc:
            self.metrics.post_failures.labels("transient").inc()
            await self._retry_later(sub, delivery, exc.reason)
            report.error = exc.reason
            return False
        await self._sent(sub, article.id, message_id, report)
        self.metrics.posts.labels("sent").inc()
        log.info("posted %s", article.url, extra={**ids, "message_id": message_id})
        report.posted.append(article.id)
        if sub.spec.crosspost and message_id is not None:
            try:
                await self.poster.crosspost(sub.channel_id, message_id)
            except DeliveryError as exc:
                log.warning("could not crosspost message %s: %s", message_id, exc.reason, extra=ids)
        return True

    def post_for(self, sub: Subscription, article: Article) -> PostSpec:
        return build_post(
            article,
            excerpt_length=self.settings.publishing.excerpt_length,
            mention_role_id=sub.spec.mention_role_id,
        )

    async def _sent(
        self, sub: Subscription, article_id: int, message_id: int | None, report: RunReport
    ) -> None:
        await self.deliveries.mark_sent(sub.channel_id, article_id, message_id, self.clock())
        self.last_success = self.clock()
        self.metrics.last_successful_post.set(self.last_success.timestamp())
        if sub.alerted_reason is not None:
            await self.subscriptions.mark_alerted(sub.id, None)  # a later pause alerts again

    async def _retry_later(self, sub: Subscription, delivery: Delivery, reason: str) -> None:
        ids = {
            "guild_id": sub.guild_id,
            "channel_id": sub.channel_id,
            "article_id": delivery.article_id,
        }
        if delivery.attempts >= self.settings.publishing.retry_limit:
            log.error(
                "giving up on a post after %d attempts: %s", delivery.attempts, reason, extra=ids
            )
            await self.deliveries.finish(sub.channel_id, delivery.article_id, "failed", reason)
            return
        backoff = self.settings.publishing.retry_backoff * (2 ** (delivery.attempts - 1))
        when = self.clock() + min(backoff, MAX_BACKOFF)
        log.warning(
            "post failed (%s); attempt %d of %d, next after %s",
            reason,
            delivery.attempts,
            self.settings.publishing.retry_limit,
            when.isoformat(timespec="seconds"),
            extra=ids,
        )
        await self.deliveries.retry_later(sub.channel_id, delivery.article_id, reason, when)

    # ------------------------------------------------------------------ reconciliation

    async def reconcile_all(self) -> None:
        """At start-up, before anything new is sent: settle every unfinished delivery.

        A post is only re-sent where publishing may happen now (switched on, not paused, not
        in quiet hours); elsewhere the history is still checked, and a post found there is
        recorded as sent. Each channel is handled on its own: one failure stops nothing else.
        """
        pending = await self.deliveries.open_deliveries()
        channels = sorted({d.channel_id for d in pending})
        if channels:
            log.info(
                "reconciling %d unfinished deliveries in %d channels", len(pending), len(channels)
            )
        for channel_id in channels:
            sub = await self.subscriptions.get_by_channel(channel_id)
            if sub is None:
                continue
            try:
                async with self._lock(channel_id):
                    resend = await self._may_publish(sub, self.clock())
                    report = RunReport(sub.id, channel_id)
                    await self._reconcile_channel(sub, report, self.clock(), resend=resend)
            except Exception:
                log.exception(
                    "could not reconcile channel %s; it is retried on its next run",
                    channel_id,
                    extra={"channel_id": channel_id, "guild_id": sub.guild_id},
                )

    async def _may_publish(self, sub: Subscription, now: datetime) -> bool:
        return (
            sub.active
            and self.poster.ready()
            and await self.publishing_enabled(sub.guild_id)
            and not self.in_quiet_hours(sub, now)
        )

    async def _reconcile_channel(
        self, sub: Subscription, report: RunReport, now: datetime, *, resend: bool = True
    ) -> bool:
        """Settle the channel's pending deliveries. False: do not post anything new now."""
        for delivery in await self.deliveries.open_deliveries(sub.channel_id):
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                report.not_run = "waiting to retry a failed post"
                return False
            if not await self._reconcile(sub, delivery, report, resend=resend):
                return False
        return True

    async def _reconcile(
        self, sub: Subscription, delivery: Delivery, report: RunReport, *, resend: bool = True
    ) -> bool:
        article = await self.articles.get(delivery.article_id)
        if article is None:
            await self.deliveries.finish(
                sub.channel_id, delivery.article_id, "failed", "article no longer stored"
            )
            return True
        assert article.id is not None
        post = self.post_for(sub, article)
        ids = {
            "guild_id": sub.guild_id,
            "channel_id": sub.channel_id,
            "article_id": article.id,
            "subscription_id": sub.id,
        }
        try:
            # From just before the first attempt to well after the latest one: a post can only
            # have been created in between.
            found = await self.poster.find_post(
                sub.channel_id,
                post,
                delivery.intent_at - timedelta(seconds=30),
                delivery.last_attempt_at + SEARCH_WINDOW,
            )
        except ChannelUnavailable as exc:
            await self._pause(sub, exc.reason)
            return False
        except TransientError as exc:
            await self._retry_later(sub, delivery, exc.reason)
            return False
        except HistoryUnavailable as exc:
            self.metrics.post_failures.labels("history_unavailable").inc()
            if self.settings.publishing.history_unreadable == "skip":
                reason = f"could not check whether it was posted: {exc.reason}"
                log.warning("not re-sending %s: %s", article.url, reason, extra=ids)
                await self.deliveries.finish(sub.channel_id, article.id, "unconfirmed", reason)
                await self._alert(
                    sub,
                    f"⚠️ Newsdesk could not read <#{sub.channel_id}>'s history ({exc.reason}) to "
                    f"check whether <{article.url}> was posted before a restart; it will not be "
                    "re-sent, to avoid a duplicate. Give the bot Read Message History.",
                )
                return True
            found = None  # policy "resend": rather a duplicate than a loss
        if found is not None:
            log.info("found an unconfirmed post in the channel: %s", article.url, extra=ids)
            await self._sent(sub, article.id, found, report)
            self.metrics.posts.labels("recovered").inc()
            report.recovered.append(article.id)
            return True
        if not resend:
            return False  # publishing is off here: it stays pending until it is switched on
        log.info("re-sending a post that never arrived: %s", article.url, extra=ids)
        delivery = await self.deliveries.record_intent(
            sub.channel_id,
            article.id,
            subscription_id=sub.id,
            guild_id=sub.guild_id,
            nonce=delivery.nonce,
            now=self.clock(),
        )
        return await self._deliver(sub, article, delivery, report)

    # ------------------------------------------------------------------ pausing

    async def _pause(self, sub: Subscription, reason: str) -> None:
        ids = {"subscription_id": sub.id, "channel_id": sub.channel_id, "guild_id": sub.guild_id}
        log.warning(
            "pausing the subscription for channel %s: %s", sub.channel_id, reason, extra=ids
        )
        await self.subscriptions.pause(sub.id, reason)
        if sub.alerted_reason != reason:
            await self._alert(
                sub,
                f"⏸️ Newsdesk paused publishing to <#{sub.channel_id}>: {reason}. It resumes by "
                "itself once the channel is usable again, or when a moderator switches it on.",
            )
            await self.subscriptions.mark_alerted(sub.id, reason)

    async def _alert(self, sub: Subscription, text: str) -> None:
        channel = await self.log_channel(sub.guild_id)
        if channel is None or channel == sub.channel_id:
            return
        try:
            await self.poster.alert(channel, text)
        except DeliveryError as exc:
            log.warning("could not alert the moderators in channel %s: %s", channel, exc.reason)

    async def pause_guild(self, guild_id: int, reason: str) -> None:
        """The bot left (or lost) a guild: pause its subscriptions, nothing is lost."""
        for sub in await self.subscriptions.list(guild_id):
            if sub.paused_reason is None:
                log.warning("pausing the subscription for channel %s: %s", sub.channel_id, reason)
                await self.subscriptions.pause(sub.id, reason)

    async def recheck_paused(self) -> list[int]:
        """Resume paused subscriptions whose channel is usable again (checked rarely)."""
        resumed = []
        for sub in await self.subscriptions.list():
            if sub.paused_reason is None:
                continue
            info = self.poster.channel_info(sub.channel_id)
            if info is None or info.problem is not None:
                continue
            log.info("channel %s is usable again: resuming its subscription", sub.channel_id)
            await self.subscriptions.resume(sub.id)
            if info.guild_id != sub.guild_id:
                await self.subscriptions.set_guild(sub.id, info.guild_id)
            resumed.append(sub.id)
        return resumed
