"""A publishing run: check, settle what is unfinished, select, post; exactly once per channel.

For every article: record the intent (``pending``), send with a nonce derived from channel and
article URL, record the message id (``sent``) — see sender.py. A ``pending`` delivery found
later is reconciled against the channel's history before anything is resent (reconcile.py),
so a crash at any moment, followed by a restart however late, neither loses nor duplicates.

Between settling and new posts, the run edits posts whose article changed (editor.py).

In digest mode the run's chosen articles go out as one message: an intent for each of them,
all recorded in one transaction under the digest's nonce, then one send.

A run reads its subscription once (with its server's switch and whether anything is pending),
and builds its posts from one read of the chosen articles.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from bot.domain.delivery import DeliveryState, digest_nonce, nonce_for
from bot.domain.digests import DigestItem, digest_title, in_digest_order
from bot.domain.models import Article
from bot.domain.selection import PERMANENT_SKIPS
from bot.domain.subscription import State, Subscription, in_quiet_hours, standing
from bot.domain.threads import NoTagPossible
from bot.log import with_ids
from bot.metrics import Metrics
from bot.services.guard import guarded
from bot.services.publishing.alerts import Pauses
from bot.services.publishing.editor import Editor
from bot.services.publishing.guilds import GuildPolicy
from bot.services.publishing.pacing import Pacer
from bot.services.publishing.ports import ChannelInfo, Channels
from bot.services.publishing.reconcile import Reconciler
from bot.services.publishing.selector import Selector
from bot.services.publishing.sender import DigestRejected, RunReport, Sender
from bot.store.article_reads import ArticleReads
from bot.store.digests import DigestOutbox
from bot.store.outbox import Outbox
from bot.store.subscriptions import RunContext, SubscriptionStore

log = logging.getLogger(__name__)


class Publisher:
    """Runs subscriptions. One per process; the database, not the scheduler, records what
    went out. Runs of one subscription never overlap, nor runs in one channel (a channel
    unsubscribed and subscribed again has a new subscription while the old run may still be
    sending)."""

    def __init__(
        self,
        *,
        subscriptions: SubscriptionStore,
        articles: ArticleReads,
        outbox: Outbox,
        digests: DigestOutbox,
        guilds: GuildPolicy,
        selector: Selector,
        reconciler: Reconciler,
        editor: Editor,
        sender: Sender,
        pauses: Pauses,
        channels: Channels,
        pace: timedelta,
        clock: Callable[[], datetime],
        metrics: Metrics,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.subscriptions = subscriptions
        self.articles = articles
        self.outbox = outbox
        self.digests = digests
        self.guilds = guilds
        self.selector = selector
        self.reconciler = reconciler
        self.editor = editor
        self.sender = sender
        self.pauses = pauses
        self.channels = channels
        self.pace = pace
        self.clock = clock
        self.metrics = metrics
        self.sleep = sleep
        self._locks: dict[int, asyncio.Lock] = {}  # per subscription
        self._channel_locks: dict[int, asyncio.Lock] = {}
        self._channel_turns: dict[int, int] = {}  # runs that have held each channel's lock
        self.stopping = False
        self.last_run_ok: datetime | None = None  # the last run that ended without an error

    def _lock(self, subscription_id: int) -> asyncio.Lock:
        return self._locks.setdefault(subscription_id, asyncio.Lock())

    @asynccontextmanager
    async def _channel(self, channel_id: int) -> AsyncIterator[bool]:
        """Hold the channel's lock; yields whether another run held it while this one waited
        (``Lock.locked()`` cannot tell: it is False between a release and the next waiter's
        wake-up)."""
        turn = self._channel_turns.get(channel_id, 0)
        async with self._channel_locks.setdefault(channel_id, asyncio.Lock()):
            current = self._channel_turns.get(channel_id, 0)
            self._channel_turns[channel_id] = current + 1
            yield current != turn

    async def run(self, subscription_id: int, *, force: bool = False) -> RunReport:
        """One publishing run of one subscription (scheduled, or ``post-now`` with force)."""
        async with self._lock(subscription_id):
            context = await self.subscriptions.for_run(subscription_id)
            if context is None:
                return RunReport(subscription_id, 0, not_run="no such subscription")
            async with self._channel(context.subscription.channel_id) as waited:
                if waited:  # another subscription's run was in the channel: read again
                    context = await self.subscriptions.for_run(subscription_id)
                    if context is None:
                        return RunReport(subscription_id, 0, not_run="no such subscription")
                return await self._counted(context, force)

    async def _counted(self, context: RunContext, force: bool) -> RunReport:
        sub = context.subscription
        report = RunReport(sub.id, sub.channel_id)
        try:
            await self._run(sub, context, report, force)
        except Exception as exc:  # counted here; logged by the job's guard (jobs.guarded)
            report.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._count(report)
        return report

    def _count(self, report: RunReport) -> None:
        now = self.clock()
        if report.error:
            outcome = "error"
        elif report.not_run:
            outcome = "not_run"
        else:
            outcome = "posted" if report.posted or report.recovered else "nothing_to_post"
        self.metrics.publish_runs.labels(outcome).inc()
        self.metrics.last_publish_run.set(now.timestamp())
        if report.error is None and report.not_run is None:
            self.last_run_ok = now

    async def _run(
        self,
        sub: Subscription,
        context: RunContext,
        report: RunReport,
        force: bool,
    ) -> None:
        now = self.clock()
        server_switch, has_pending = context.server_publishing, context.has_pending
        if not self.channels.ready():
            report.not_run = "not connected to Discord"
            return
        located = await self.guilds.locate(sub)
        if located.guild_id == sub.guild_id:
            server_on = self.guilds.resolve_publishing(server_switch)
        else:  # just learnt which server it is in: that server's switch
            server_on = await self.guilds.publishing_enabled(located.guild_id)
        sub = located
        where = standing(sub, server_on)
        if where.state is not State.ON:
            report.not_run = where.why_not()
            return
        if not force and in_quiet_hours(sub.spec, now):
            report.not_run = "quiet hours"
            return
        info = self.channels.channel_info(sub.channel_id)
        if info is None or info.problem is not None:
            problem = info.problem if info and info.problem else "the channel is unknown to the bot"
            await self.pauses.pause(sub, problem)
            report.not_run = f"paused: {problem}"
            return
        await self.subscriptions.mark_run(sub.id, now)
        if has_pending and not await self.reconciler.settle(sub, info, report, now):
            return
        pacer = Pacer(self.pace, self.sleep)
        if context.has_edits:
            await self.editor.run(sub, info, report, pacer, lambda: self.stopping)
        await self._post_new(sub, info, report, now, pacer)

    async def _post_new(
        self, sub: Subscription, info: ChannelInfo, report: RunReport, now: datetime, pacer: Pacer
    ) -> None:
        selection = await self.selector.next_run(sub, now)
        logger = with_ids(log, **sub.ids)
        permanent = []
        for candidate, reason in selection.skipped:
            if reason in PERMANENT_SKIPS:
                logger.info(
                    "not posting %s: %s (article %s)",
                    candidate.url,
                    reason.value,
                    candidate.same_story_as,
                    extra={"article_id": candidate.article_id},
                )
                permanent.append(
                    (candidate.article_id, f"{reason.value} (article {candidate.same_story_as})")
                )
        report.skipped = [(c.article_id, r) for c, r in selection.skipped]
        if permanent:
            self.metrics.posts.labels("skipped").inc(len(permanent))
            await self.outbox.record_skips(
                sub.channel_id, permanent, subscription_id=sub.id, guild_id=sub.guild_id, now=now
            )
        if not selection.chosen:
            return
        articles = await self.articles.get_many([c.article_id for c in selection.chosen])
        if sub.digest:
            await self._post_digest(sub, info, report, articles, pacer)
            return
        for article in articles:
            if self.stopping:
                break
            await pacer.wait()
            assert article.id is not None
            try:
                out = self.sender.outgoing(sub, article, info)
            except NoTagPossible as exc:
                await self.pauses.pause(sub, str(exc))
                report.not_run = f"paused: {exc}"
                break
            delivery = await self.outbox.record_intent(
                sub.channel_id,
                article.id,
                subscription_id=sub.id,
                guild_id=sub.guild_id,
                nonce=nonce_for(sub.channel_id, article.url),
                now=self.clock(),
                thread_owed=out.thread_owed,
            )
            if delivery.state is not DeliveryState.PENDING:
                continue  # already settled meanwhile
            if not await self.sender.deliver(sub, out, [delivery], report):
                break

    async def _post_digest(
        self,
        sub: Subscription,
        info: ChannelInfo,
        report: RunReport,
        articles: list[Article],
        pacer: Pacer,
    ) -> None:
        """The run's chosen articles as one digest: every intent recorded at once, one send."""
        if articles:
            title = digest_title(self.clock(), sub.spec.timezone)
            await self._send_digest(sub, info, report, in_digest_order(articles), title, pacer)

    async def _send_digest(
        self,
        sub: Subscription,
        info: ChannelInfo,
        report: RunReport,
        articles: list[Article],
        title: str,
        pacer: Pacer,
    ) -> bool:
        """Send one digest; one Discord rejects is sent again in halves (only the article to
        blame is quarantined). False: do not use the channel again now."""
        try:
            out = self.sender.digest_outgoing(sub, [DigestItem(a) for a in articles], info, title)
        except NoTagPossible as exc:
            await self.pauses.pause(sub, str(exc))
            report.not_run = f"paused: {exc}"
            return False
        await pacer.wait()  # before the intents: a stop while waiting leaves nothing pending
        if self.stopping:
            return False
        nonce = digest_nonce(sub.channel_id, out.article_ids)
        deliveries = await self.digests.record_intent(
            sub.channel_id,
            out.article_ids,
            subscription_id=sub.id,
            guild_id=sub.guild_id,
            nonce=nonce,
            now=self.clock(),
            thread_owed=out.thread_owed,
        )
        if any(d.state is not DeliveryState.PENDING or d.nonce != nonce for d in deliveries):
            ours = [d.article_id for d in deliveries if d.nonce == nonce]
            await self.outbox.cancel(sub.channel_id, ours)  # settled meanwhile: choose again
            return False
        try:
            return await self.sender.deliver(sub, out, deliveries, report)
        except DigestRejected:
            half = len(articles) // 2
            for part in (articles[:half], articles[half:]):
                if not await self._send_digest(sub, info, report, part, title, pacer):
                    return False
            return True

    # ------------------------------------------------------------------ start-up

    async def reconcile_all(self) -> None:
        """At start-up, before anything new is sent: settle every unfinished delivery.

        A post is only re-sent where publishing may happen now (switched on, not paused, not
        in quiet hours); elsewhere the history is still checked, and a post found there is
        recorded as sent. Each channel is handled on its own: one failure stops nothing else.
        """
        pending = await self.outbox.open_deliveries()
        channels = sorted({d.channel_id for d in pending})
        if channels:
            log.info(
                "reconciling %d unfinished deliveries in %d channels", len(pending), len(channels)
            )
        for channel_id in channels:
            sub = await self.subscriptions.get_by_channel(channel_id)
            if sub is None:
                continue
            # one channel's failure stops no other; the channel is retried on its next run
            await guarded(
                "reconcile", self._reconcile(sub), self.metrics, detail=f"channel {channel_id}"
            )

    async def _reconcile(self, sub: Subscription) -> None:
        async with self._lock(sub.id), self._channel(sub.channel_id):
            now = self.clock()
            info = self.channels.channel_info(sub.channel_id)
            if info is None:
                return  # not visible now: settled by the channel's first run once it is
            resend = await self._may_publish(sub, now)
            report = RunReport(sub.id, sub.channel_id)
            await self.reconciler.settle(sub, info, report, now, resend=resend)

    async def _may_publish(self, sub: Subscription, now: datetime) -> bool:
        return (
            sub.active
            and self.channels.ready()
            and await self.guilds.publishing_enabled(sub.guild_id)
            and not in_quiet_hours(sub.spec, now)
        )
