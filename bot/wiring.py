"""Where every store and service is constructed (bot.app adds the Discord client and the bot).

Each service is given exactly what it uses; nothing reaches through another service for its
dependencies. The dry run and ``newsdesk status`` build the same publishing services with a
Poster of their own, so they can never disagree with a real run about what would go.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import bot
from bot.metrics import Metrics
from bot.net.fetch import FetchPolicy, UrlFetcher
from bot.net.git_remote import GitPolicy
from bot.services.ingest.ingestor import Ingestor
from bot.services.publishing.alerts import Alerts, Pauses
from bot.services.publishing.edit_outcomes import EditOutcomes
from bot.services.publishing.editor import Editor
from bot.services.publishing.guilds import GuildDefaults, GuildPolicy
from bot.services.publishing.ports import Poster
from bot.services.publishing.publisher import Publisher
from bot.services.publishing.reconcile import Reconciler
from bot.services.publishing.selector import Selector
from bot.services.publishing.sender import RetryPolicy, Sender
from bot.services.publishing.threads import Threads
from bot.services.sources.feed_list import FeedList, ServerFeeds
from bot.services.sources.feeds import FeedPoller
from bot.services.sources.git import GitPoller
from bot.settings import Settings
from bot.store.articles import ArticleStore
from bot.store.candidates import CandidateQueries
from bot.store.db import Database
from bot.store.digests import DigestOutbox
from bot.store.edits import EditQueue
from bot.store.guilds import GuildStore
from bot.store.outbox import Outbox
from bot.store.server_sources import ServerSourceStore
from bot.store.sources import SourceStore
from bot.store.subscriptions import SubscriptionStore
from bot.store.times import utcnow
from bot.store.withdrawals import WithdrawalStore


@dataclass(frozen=True, slots=True)
class Stores:
    db: Database
    articles: ArticleStore
    subscriptions: SubscriptionStore
    outbox: Outbox
    digests: DigestOutbox
    edits: EditQueue
    candidates: CandidateQueries
    guilds: GuildStore
    withdrawals: WithdrawalStore
    sources: SourceStore
    server_sources: ServerSourceStore


def stores_of(db: Database, settings: Settings) -> Stores:
    return Stores(
        db=db,
        articles=ArticleStore(db, trust_published_flag=settings.ingest.trust_published_flag),
        subscriptions=SubscriptionStore(db),
        outbox=Outbox(db),
        digests=DigestOutbox(db),
        edits=EditQueue(db),
        candidates=CandidateQueries(db),
        guilds=GuildStore(db),
        withdrawals=WithdrawalStore(db),
        sources=SourceStore(db),
        server_sources=ServerSourceStore(db),
    )


def ingestor(settings: Settings, stores: Stores) -> Ingestor:
    """The ingestor of the configured sources (it withdraws articles whose files are gone)."""
    return Ingestor(
        stores.articles, settings.ingest, outbox=stores.outbox, withdrawals=stores.withdrawals
    )


def _user_agent(settings: Settings) -> str:
    return settings.fetch.user_agent or f"Newsdesk/{bot.__version__}"


def fetch_policy(settings: Settings) -> FetchPolicy:
    fetch = settings.fetch
    return FetchPolicy(
        allow_networks=fetch.allow_networks,
        max_bytes=fetch.max_bytes,
        timeout=fetch.timeout.total_seconds(),
        user_agent=_user_agent(settings),
    )


def git_checkouts(settings: Settings) -> Path:
    """Where git sources are checked out: ``git.checkouts``, or next to the SQLite file (with
    PostgreSQL, ``data/checkouts``)."""
    database = settings.database.path or Path("data/newsdesk")
    folder = settings.git.checkouts or database.parent / "checkouts"
    return Path(os.path.abspath(folder))


def git_poller(settings: Settings, stores: Stores, ingest: Ingestor) -> GitPoller:
    """Git sources go through ``ingest`` (the one ingestor, so scans never overlap)."""
    policy = GitPolicy(
        timeout=settings.fetch.timeout.total_seconds(),
        max_repo_bytes=settings.fetch.max_repo_bytes,
        user_agent=_user_agent(settings),
    )
    return GitPoller(ingest, stores.sources, policy, git_checkouts(settings), clock=utcnow)


def feed_poller(
    settings: Settings, stores: Stores, fetcher: UrlFetcher, servers: ServerFeeds | None = None
) -> FeedPoller:
    """The config's feeds, then those the servers added (``servers``, which the /newsadmin
    source commands keep up to date; None: the config's only, as ``newsdesk ingest``)."""
    return FeedPoller(
        stores.articles,
        stores.sources,
        fetcher,
        FeedList(settings.sources, servers),
        workers=settings.ingest.workers,
        clock=utcnow,
    )


async def open_stores(settings: Settings, command: str = "run") -> Stores:
    return stores_of(await Database.open(settings.database.sqlite(command)), settings)


async def prepare(settings: Settings, stores: Stores) -> None:
    """Bring the database in line with the config: published-flag policy, subscriptions."""
    await stores.articles.apply_published_policy()
    await stores.subscriptions.sync_from_config(settings.subscriptions)


@dataclass(frozen=True, slots=True)
class Publishing:
    guilds: GuildPolicy
    alerts: Alerts
    pauses: Pauses
    selector: Selector
    sender: Sender
    reconciler: Reconciler
    publisher: Publisher


def guild_policy(settings: Settings, stores: Stores, poster: Poster) -> GuildPolicy:
    return GuildPolicy(
        stores.guilds,
        stores.subscriptions,
        poster,
        GuildDefaults(
            publishing_enabled=settings.publishing.enabled,
            log_channel_id=settings.moderation.log_channel_id,
            moderator_role_ids=settings.moderation.moderator_role_ids,
        ),
    )


def selector(settings: Settings, stores: Stores) -> Selector:
    return Selector(
        stores.candidates, respect_source_published=settings.ingest.trust_published_flag
    )


def build_publishing(
    settings: Settings,
    stores: Stores,
    poster: Poster,
    metrics: Metrics,
    clock: Callable[[], datetime] = utcnow,
) -> Publishing:
    publishing = settings.publishing
    guilds = guild_policy(settings, stores, poster)
    alerts = Alerts(poster, guilds)
    pauses = Pauses(stores.subscriptions, alerts, poster, guilds)
    picks = selector(settings, stores)
    retry = RetryPolicy(publishing.retry_limit, publishing.retry_backoff)  # posts and edits
    sender = Sender(
        stores.outbox,
        poster,
        pauses,
        Threads(stores.outbox, poster, stores.subscriptions, alerts),
        retry=retry,
        excerpt_length=publishing.excerpt_length,
        clock=clock,
        metrics=metrics,
    )
    reconciler = Reconciler(
        stores.outbox,
        stores.digests,
        stores.articles,
        poster,
        sender,
        pauses,
        alerts,
        history_unreadable=publishing.history_unreadable,
        clock=clock,
        metrics=metrics,
    )
    editor = Editor(
        stores.edits,
        stores.digests,
        stores.articles,
        poster,
        sender,
        EditOutcomes(stores.edits, retry=retry, clock=clock, metrics=metrics),
        clock=clock,
        metrics=metrics,
    )
    publisher = Publisher(
        subscriptions=stores.subscriptions,
        articles=stores.articles,
        outbox=stores.outbox,
        digests=stores.digests,
        guilds=guilds,
        selector=picks,
        reconciler=reconciler,
        editor=editor,
        sender=sender,
        pauses=pauses,
        channels=poster,
        pace=publishing.pace,
        clock=clock,
        metrics=metrics,
    )
    return Publishing(guilds, alerts, pauses, picks, sender, reconciler, publisher)
