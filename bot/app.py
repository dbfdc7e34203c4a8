"""Composition root: open the store, build the services and the bot, run until told to stop.

``newsdesk run`` logs in with DISCORD_TOKEN and runs until SIGINT or SIGTERM, both of which
stop it cleanly: no new job starts, an in-flight post finishes (or is abandoned safely: its
delivery stays pending and is reconciled at the next start), the scheduler stops, the gateway
is closed, then the database. ``newsdesk run --dry-run`` needs no token: it ingests the
configured sources and prints the posts a run would make, then exits.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from bot.cogs.admin import AdminCog
from bot.cogs.news import NewsCog
from bot.discord_io.client import NewsBot, Services
from bot.discord_io.connection import UNREACHABLE, describe, discord_address
from bot.discord_io.poster import DiscordPoster
from bot.errors import CommandFailed, UsageError
from bot.metrics import Metrics
from bot.net.fetch import Fetcher, UrlFetcher
from bot.services.admin import AdminService
from bot.services.jobs import Jobs
from bot.services.news import NewsService
from bot.services.sources.feed_list import ServerFeeds
from bot.services.sources.manage import SourceManager
from bot.settings import Settings
from bot.stopping import StopSignals
from bot.store.audit import AuditStore, StateStore
from bot.store.browse import BrowseStore
from bot.store.times import utcnow
from bot.web import HealthServer, HealthSources
from bot.wiring import (
    Stores,
    build_publishing,
    feed_poller,
    fetch_policy,
    git_poller,
    ingestor,
    open_stores,
    prepare,
)

log = logging.getLogger(__name__)


def wire(
    settings: Settings,
    stores: Stores,
    client: discord.Client,
    metrics: Metrics | None = None,
    fetcher: UrlFetcher | None = None,
) -> Services:
    """Every service the running bot uses (see bot.wiring), with Discord as the Poster;
    feeds are fetched when a ``fetcher`` is given."""
    metrics = metrics or Metrics()
    poster = DiscordPoster(client)
    publishing = build_publishing(settings, stores, poster, metrics)
    ingest = ingestor(settings, stores)
    servers = ServerFeeds(stores.server_sources)  # the poller reads them, the commands change them
    jobs = Jobs(
        sources=settings.sources,
        ingest=settings.ingest,
        publishing=settings.publishing,
        publisher=publishing.publisher,
        pauses=publishing.pauses,
        ingestor=ingest,
        alerts=publishing.alerts,
        subscriptions=stores.subscriptions,
        metrics=metrics,
        clock=utcnow,
        feeds=feed_poller(settings, stores, fetcher, servers) if fetcher is not None else None,
        gits=git_poller(settings, stores, ingest),
    )
    browse = BrowseStore(stores.db)
    admin = AdminService(
        guilds=publishing.guilds,
        guild_settings=stores.guilds,
        subscriptions=stores.subscriptions,
        selector=publishing.selector,
        publisher=publishing.publisher,
        jobs=jobs,
        outbox=stores.outbox,
        articles=stores.articles,
        browse=browse,
        audit=AuditStore(stores.db),
        alerts=publishing.alerts,
        channels=poster,
        clock=utcnow,
    )
    news = NewsService(stores.articles, browse)
    sources = SourceManager(
        stores.server_sources,
        servers,
        admin.record,
        fetcher=fetcher,
        limit=settings.fetch.max_sources_per_server,
        shared=len(settings.sources),
        workers=settings.ingest.workers,
        clock=utcnow,
    )
    return Services(
        cogs=(NewsCog(news), AdminCog(admin, news, sources)),
        news=news,
        jobs=jobs,
        publisher=publishing.publisher,
        pauses=publishing.pauses,
        channels=poster,
        state=StateStore(stores.db),
        metrics=metrics,
        sync_guild_ids=settings.discord.sync_guild_ids,
        configured_channels=tuple(spec.channel_id for spec in settings.subscriptions),
    )


def health_server(settings: Settings, stores: Stores, bot: NewsBot) -> HealthServer | None:
    if settings.http is None:
        return None
    services = bot.services

    async def refresh() -> None:
        subs = await stores.subscriptions.list()
        services.metrics.subscriptions.set(len(subs))
        services.metrics.subscriptions_paused.set(sum(1 for s in subs if s.paused_reason))
        services.metrics.gateway_connected.set(int(bot.gateway_connected()))

    return HealthServer(
        settings.http.host,
        settings.http.port,
        HealthSources(
            gateway_connected=bot.gateway_connected,
            publishing_started=bot.started_publishing.is_set,
            scheduler_running=lambda: services.jobs.running,
            database_writable=stores.db.check_writable,
            last_successful_run=lambda: services.publisher.last_run_ok,
            last_ingest=lambda: services.jobs.last_ingest,
            refresh_metrics=refresh,
        ),
        services.metrics,
    )


REFUSED_LOGIN = (
    "DISCORD_TOKEN: Discord refused the token (check it, or reset it in the Developer Portal)"
)


def run_command(settings: Settings) -> int:
    token = settings.require_token()
    return asyncio.run(run(settings, token, StopSignals()))


async def run(settings: Settings, token: str, signals: StopSignals, **bot_options: Any) -> int:
    """Run the bot until SIGINT or SIGTERM (both end it cleanly, exit status 0)."""
    stop = asyncio.Event()
    signals.attach(stop.set)
    stores = await open_stores(settings)
    try:
        await prepare(settings, stores)
        metrics = Metrics()
        metrics.articles_stored.set(await stores.articles.count())
        async with Fetcher(fetch_policy(settings)) as fetcher:
            bot = NewsBot(
                lambda client: wire(settings, stores, client, metrics, fetcher), **bot_options
            )
            server = health_server(settings, stores, bot)
            if server is not None:
                await server.start()
            try:
                async with bot:
                    await bot.serve(token, stop)
            except discord.LoginFailure:
                raise UsageError(REFUSED_LOGIN) from None
            finally:
                if server is not None:
                    await server.stop()
    finally:
        await stores.db.close()
    log.info("stopped cleanly")
    return 0


def sync_command(settings: Settings, guild_id: int | None) -> int:
    token = settings.require_token()
    return asyncio.run(sync(settings, token, guild_id))


async def sync(settings: Settings, token: str, guild_id: int | None) -> int:
    """Log in over HTTP only (no gateway, no jobs), push the command tree, log out."""
    stores = await open_stores(settings, "sync")
    try:
        bot = NewsBot(lambda client: wire(settings, stores, client), publish=False)
        async with bot:
            try:
                await bot.login(token)
                await bot.sync_commands(force=True, guild_id=guild_id)
            except discord.LoginFailure:
                raise UsageError(REFUSED_LOGIN) from None
            except UNREACHABLE as exc:
                raise CommandFailed(
                    f"cannot reach Discord ({discord_address()}): {describe(exc)}"
                ) from None
        where = f"server {guild_id}" if guild_id else "every server (global commands)"
        print(f"synced {len(bot.tree.get_commands())} top-level commands to {where}")  # noqa: T201
        return 0
    finally:
        await stores.db.close()
