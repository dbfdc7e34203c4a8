"""The scheduler: APScheduler 3.x AsyncIOScheduler running coroutine jobs in the bot's loop.

* ``ingest``: re-scans the configured directories every ``ingest.interval`` (and at start-up).
* ``sources``: fetches each feed (the config's, and those servers added from Discord) when it
  is due (its own interval, its backoff).
* ``git``: fetches and ingests each git source when it is due (a job of its own: a clone may
  take a while, and feeds must not wait for it).
* ``publish:<id>``: one job per subscription, on its interval or cron (in its time zone).
* ``recheck-paused``: looks at paused subscriptions every ``publishing.paused_recheck``.

Every job has ``max_instances=1`` (no overlapping runs) and ``coalesce=True`` (missed runs
collapse into one); the store is in memory, so a restart never replays a backlog of runs: an
interval job's first run is one interval after the subscription's last run (or right away when
that is past). The database, not the scheduler, records what was posted.

Every job runs through :func:`bot.services.guard.guarded`, the one place where a failed
background job is logged and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.domain.subscription import Subscription, cron_trigger, next_run
from bot.metrics import Metrics
from bot.services.guard import guarded
from bot.services.ingest.ingestor import Ingestor, IngestSummary
from bot.services.ingest.withdrawals import Refused
from bot.services.publishing.alerts import Alerts, Pauses
from bot.services.publishing.publisher import Publisher
from bot.services.sources.feeds import FeedPoller
from bot.services.sources.git import GitPoller
from bot.services.sources.reports import SourceReport
from bot.settings import IngestSettings, PublishingSettings, SourceSettings
from bot.settings.sources import git_sources, source_paths
from bot.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)

SOURCE_TICK = 1  # seconds between looks at which feeds and git sources are due (no I/O)
MISFIRE_GRACE = 60  # seconds a late job may still start; later ones are skipped (coalesced)
UNSENT_KEPT = 100  # source alerts kept while not connected (a burst beyond that is in the log)


def trigger_for(sub: Subscription) -> BaseTrigger:
    spec = sub.spec
    if spec.cron:
        return cron_trigger(spec)
    assert spec.interval is not None
    return IntervalTrigger(seconds=int(spec.interval.total_seconds()), timezone=spec.timezone)


class Jobs:
    def __init__(
        self,
        *,
        sources: tuple[SourceSettings, ...],
        ingest: IngestSettings,
        publishing: PublishingSettings,
        publisher: Publisher,
        pauses: Pauses,
        ingestor: Ingestor,
        alerts: Alerts,
        subscriptions: SubscriptionStore,
        metrics: Metrics,
        clock: Callable[[], datetime],
        feeds: FeedPoller | None = None,
        gits: GitPoller | None = None,
    ) -> None:
        self.sources = sources
        self.feeds = feeds  # None: feeds are not fetched (no fetcher)
        self.gits = gits
        self.git_sources = git_sources(sources)
        self.ingest_settings = ingest
        self.publishing = publishing
        self.publisher = publisher
        self.pauses = pauses
        self.ingestor = ingestor
        self.alerts = alerts
        # refused withdrawals the operators were told of, per job
        self._refusals_told: dict[str, set[str]] = {}
        # source alerts raised before the bot was connected (a feed gone at start-up):
        # (server or None for the operators, text), sent once it is
        self._unsent: list[tuple[int | None, str]] = []
        self.subscriptions = subscriptions
        self.metrics = metrics
        self.clock = clock
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE,
            },
        )
        self._running: set[asyncio.Task[Any]] = set()
        self.last_ingest: datetime | None = None

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def start(self) -> None:
        """Start the scheduler (inside the running loop) with the ingest and recheck jobs."""
        self.scheduler.start()
        self.scheduler.add_job(
            self._tracked("ingest", self.run_ingest),
            IntervalTrigger(seconds=int(self.ingest_settings.interval.total_seconds())),
            id="ingest",
            next_run_time=self.clock(),
            replace_existing=True,
        )
        if self.feeds is not None:  # a server may add a feed at any time
            self.scheduler.add_job(
                self._tracked("sources", self.run_sources),
                IntervalTrigger(seconds=SOURCE_TICK),
                id="sources",
                next_run_time=self.clock(),
                replace_existing=True,
            )
        if self.gits is not None and self.git_sources:  # a job of its own: a clone takes long
            self.scheduler.add_job(
                self._tracked("git", self.run_git),
                IntervalTrigger(seconds=SOURCE_TICK),
                id="git",
                next_run_time=self.clock(),
                replace_existing=True,
            )
        self.scheduler.add_job(
            self._tracked("recheck-paused", self.pauses.recheck),
            IntervalTrigger(seconds=int(self.publishing.paused_recheck.total_seconds())),
            id="recheck-paused",
            replace_existing=True,
        )

    async def schedule_publishing(self) -> None:
        for sub in await self.subscriptions.list():
            self.schedule(sub)

    def schedule(self, sub: Subscription) -> None:
        """(Re)schedule one subscription's publishing job after it was created or changed."""
        self.scheduler.add_job(
            self._tracked("publish", self.publisher.run, detail=f"channel {sub.channel_id}"),
            trigger_for(sub),
            args=[sub.id],
            id=f"publish:{sub.id}",
            name=f"publish to channel {sub.channel_id}",
            next_run_time=next_run(sub.spec, sub.last_run_at, self.clock()),
            replace_existing=True,
        )

    def unschedule(self, subscription_id: int) -> None:
        with contextlib.suppress(JobLookupError):  # never scheduled (not connected yet)
            self.scheduler.remove_job(f"publish:{subscription_id}")

    def next_run(self, subscription_id: int) -> datetime | None:
        job = self.scheduler.get_job(f"publish:{subscription_id}")
        return job.next_run_time if job else None

    async def run_ingest(self) -> IngestSummary | None:
        """Scan the configured sources now; None when there are none. Raises SourceError."""
        paths: list[Path] = source_paths(self.sources)
        if not paths:
            return None
        existing = [path for path in paths if await asyncio.to_thread(_exists, path)]
        summary = await self.ingestor.ingest(existing, sources=True)
        missing = [
            Refused(str(path), "it does not exist (an unmounted volume?)")
            for path in paths
            if path not in existing
        ]
        await self._tell_refusals(missing + summary.withdrawals_refused, "ingest")
        self.last_ingest = self.clock()
        m = self.metrics
        m.articles_ingested.labels("new").inc(summary.new)
        m.articles_ingested.labels("updated").inc(summary.updated)
        m.articles_ingested.labels("unchanged").inc(summary.unchanged)
        m.files_rejected.inc(len(summary.rejected))
        m.ingest_seconds.observe(summary.seconds)
        m.last_ingest.set(self.last_ingest.timestamp())
        m.articles_stored.set(await self.ingestor.store.count())
        if summary.new or summary.updated or summary.rejected:
            log.info("ingest: %s", summary.describe())
        for rejection in summary.rejected:
            log.debug("rejected: %s", rejection)
        return summary

    async def run_sources(self) -> list[SourceReport]:
        """Fetch the feeds that are due (each on its own interval and backoff)."""
        if self.feeds is None:
            return []
        await self._send_unsent()
        due = await self.feeds.due()
        if not due:
            return []
        return await self._reported(await self.feeds.poll(due, due_only=True))

    async def run_git(self) -> list[SourceReport]:
        """Fetch and ingest the git sources that are due (each on its own interval)."""
        if self.gits is None:
            return []
        due = self.gits.due(self.git_sources)
        if not due:
            return []
        reports = await self.gits.poll(due, due_only=True)
        for report in reports:
            await self._tell_refusals(report.refused, f"git {report.source}")
        return await self._reported(reports)

    async def _reported(self, reports: list[SourceReport]) -> list[SourceReport]:
        """Count, log and alert what the sources' fetches did."""
        m = self.metrics
        for report in reports:
            m.source_fetches.labels(report.outcome).inc()
            m.source_items.labels("new").inc(report.new)
            m.source_items.labels("updated").inc(report.updated)
            m.source_items.labels("rejected").inc(len(report.rejected))
            if report.outcome == "failed":
                log.warning("source %s", report.describe())
            elif report.new or report.updated:
                log.info("source %s", report.describe())
            alert = report.alert()
            if alert is not None:
                self._unsent.append((report.guild_id, alert))
        await self._send_unsent()
        if any(r.new or r.updated for r in reports):
            m.articles_stored.set(await self.ingestor.store.count())
        return reports

    async def _send_unsent(self) -> None:
        """Source alerts go out once connected: a server's to its log channel, the config's
        sources' to the operators' (the oldest dropped past UNSENT_KEPT)."""
        del self._unsent[:-UNSENT_KEPT]
        if not self._unsent or not self.alerts.ready():
            return
        unsent, self._unsent = self._unsent, []
        for guild_id, alert in unsent:
            if guild_id is not None:  # a server's own feed
                await self.alerts.tell(guild_id, alert)
            else:
                await self.alerts.operators(alert)

    async def _tell_refusals(self, refusals: list[Refused], job: str) -> None:
        """Alert once per refusal while it lasts (again if it comes back after clearing); one
        that could not go out yet is told after a later scan. Each ``job`` (``ingest``: the
        directories; ``git <source>``: one git source) clears only its own refusals."""
        now = {r.source: str(r) for r in refusals}  # once per source, whatever its counts say
        mine = self._refusals_told.setdefault(job, set())
        told = mine & set(now)
        for source in sorted(set(now) - told):
            if await self.alerts.operators(f"Newsdesk ingest: {now[source]}"):
                told.add(source)
        self._refusals_told[job] = told

    def _tracked(
        self, name: str, job: Callable[..., Awaitable[Any]], *, detail: str | None = None
    ) -> Callable[..., Awaitable[None]]:
        """Wrap a job: remember the running task (for a clean stop), guard its failures."""

        async def run(*args: Any) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await guarded(name, job(*args), self.metrics, detail=detail)
            finally:
                if task is not None:
                    self._running.discard(task)

        run.__name__ = name
        return run

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop scheduling; let an in-flight post finish (up to ``grace`` s), then cancel.

        The scheduler is paused first and shut down last: APScheduler's asyncio executor
        cancels the jobs still running when it shuts down.
        """
        self.publisher.stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        running = [t for t in self._running if not t.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


def _exists(path: Path) -> bool:
    """Whether a configured source exists (a missing one is skipped, with a warning)."""
    from bot.services.ingest.discovery import SourceError

    try:
        found = path.exists()
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from exc
    if not found:
        log.error("source %s does not exist; skipped, and nothing from it is withdrawn", path)
    return found
