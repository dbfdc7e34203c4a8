"""Composition root: open the store, build the services and the bot, run until told to stop.

``newsdesk run`` logs in with DISCORD_TOKEN and runs until SIGINT or SIGTERM, both of which
stop it cleanly: no new job starts, an in-flight post finishes (or is abandoned safely: its
delivery stays pending and is reconciled at the next start), the scheduler stops, the gateway
is closed, then the database. ``newsdesk run --dry-run`` needs no token: it ingests the
configured sources and prints the posts a run would make, then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import discord

from bot.discord_io.client import NewsBot, Services
from bot.discord_io.poster import DiscordPoster
from bot.domain.posts import PostSpec, render_text
from bot.errors import ConfigError
from bot.metrics import Metrics
from bot.services.admin import AdminService
from bot.services.ingestion import Ingestor, SourceError
from bot.services.jobs import Jobs
from bot.services.news import NewsService
from bot.services.publisher import ChannelInfo, Poster, Publisher
from bot.settings import Settings
from bot.store.articles import ArticleStore
from bot.store.audit import AuditStore, StateStore
from bot.store.browse import BrowseStore
from bot.store.db import Database
from bot.store.deliveries import DeliveryStore
from bot.store.subscriptions import GuildStore, SubscriptionStore
from bot.web import HealthServer, HealthSources

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stores:
    db: Database
    articles: ArticleStore
    subscriptions: SubscriptionStore
    deliveries: DeliveryStore
    guilds: GuildStore


async def open_stores(settings: Settings) -> Stores:
    db = await Database.open(settings.database.path)
    return Stores(
        db=db,
        articles=ArticleStore(db, trust_published_flag=settings.ingest.trust_published_flag),
        subscriptions=SubscriptionStore(db),
        deliveries=DeliveryStore(db),
        guilds=GuildStore(db),
    )


async def prepare(settings: Settings, stores: Stores) -> None:
    """Bring the database in line with the config: published-flag policy, subscriptions."""
    await stores.articles.apply_published_policy()
    await stores.subscriptions.sync_from_config(settings.subscriptions)


def build_publisher(
    settings: Settings, stores: Stores, poster: Poster, metrics: Metrics | None = None
) -> Publisher:
    return Publisher(
        settings=settings,
        articles=stores.articles,
        subscriptions=stores.subscriptions,
        deliveries=stores.deliveries,
        guilds=stores.guilds,
        poster=poster,
        metrics=metrics,
    )


def wire(
    settings: Settings, stores: Stores, client: discord.Client, metrics: Metrics | None = None
) -> Services:
    """Every service the running bot uses, built here and nowhere else."""
    metrics = metrics or Metrics()
    publisher = build_publisher(settings, stores, DiscordPoster(client), metrics)
    ingestor = Ingestor(stores.articles, settings.ingest)
    jobs = Jobs(
        settings=settings,
        publisher=publisher,
        ingestor=ingestor,
        subscriptions=stores.subscriptions,
        metrics=metrics,
    )
    browse = BrowseStore(stores.db)
    return Services(
        settings=settings,
        publisher=publisher,
        jobs=jobs,
        news=NewsService(stores.articles, browse),
        admin=AdminService(
            publisher=publisher,
            jobs=jobs,
            subscriptions=stores.subscriptions,
            guilds=stores.guilds,
            deliveries=stores.deliveries,
            articles=stores.articles,
            browse=browse,
            audit=AuditStore(stores.db),
        ),
        subscriptions=stores.subscriptions,
        state=StateStore(stores.db),
        metrics=metrics,
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


def run_command(settings: Settings, *, dry_run: bool) -> int:
    if dry_run:
        return asyncio.run(dry_run_command(settings, sys.stdout))
    token = settings.require_token()
    return asyncio.run(run(settings, token))


async def run(settings: Settings, token: str, **bot_options: Any) -> int:
    stores = await open_stores(settings)
    try:
        await prepare(settings, stores)
        metrics = Metrics()
        metrics.articles_stored.set(await stores.articles.count())
        bot = NewsBot(lambda client: wire(settings, stores, client, metrics), **bot_options)
        server = health_server(settings, stores, bot)
        if server is not None:
            await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with bot:
                runner = asyncio.create_task(bot.start(token), name="discord")
                stopper = asyncio.create_task(stop.wait(), name="stop signal")
                done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    log.info("stop requested: finishing the current post, then closing")
                    await bot.close()
                    with contextlib.suppress(asyncio.CancelledError):
                        await runner
                else:
                    stopper.cancel()
                    runner.result()  # raises what ended the client
        except discord.LoginFailure:
            raise ConfigError(
                [
                    "DISCORD_TOKEN: Discord refused the token (check it, or reset it in the "
                    "Developer Portal)"
                ]
            ) from None
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            if server is not None:
                await server.stop()
        log.info("stopped cleanly")
        return 0
    finally:
        await stores.db.close()


def sync_command(settings: Settings, guild_id: int | None) -> int:
    token = settings.require_token()
    return asyncio.run(sync(settings, token, guild_id))


async def sync(settings: Settings, token: str, guild_id: int | None) -> int:
    """Log in over HTTP only (no gateway, no jobs), push the command tree, log out."""
    stores = await open_stores(settings)
    try:
        bot = NewsBot(lambda client: wire(settings, stores, client), publish=False)
        async with bot:
            try:
                await bot.login(token)
            except discord.LoginFailure:
                raise ConfigError(["DISCORD_TOKEN: Discord refused the token"]) from None
            await bot.sync_commands(force=True, guild_id=guild_id)
        where = f"server {guild_id}" if guild_id else "every server (global commands)"
        print(f"synced {len(bot.tree.get_commands())} top-level commands to {where}")  # noqa: T201
        return 0
    finally:
        await stores.db.close()


# --------------------------------------------------------------------------- dry run


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
