"""Subscriptions in the database: config sync rules, moderator edits, guild settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.subscription import FIRST_RUN_DELAY, QuietHours, SubscriptionSpec
from bot.metrics import Metrics
from bot.services.ingest.ingestor import Ingestor
from bot.services.jobs import Jobs
from bot.services.publishing.offline import OfflinePoster
from bot.settings import settings_from_mapping
from bot.store.guilds import GuildSettings, GuildStore
from bot.store.sql import Db
from bot.store.subscriptions import SubscriptionStore
from bot.wiring import build_publishing, stores_of


@pytest.fixture
def db(any_db: Db) -> Db:
    """The store contract suite: every test here runs on SQLite and on PostgreSQL."""
    return any_db


def spec(channel: int = 1, **kw: object) -> SubscriptionSpec:
    return SubscriptionSpec.model_validate({"channel_id": channel, **kw})


async def test_a_spec_round_trips_through_the_database(db: Db) -> None:
    store = SubscriptionStore(db)
    original = spec(
        7,
        topics=("AI", "Computer Vision"),
        exclude_topics=("Crypto",),
        min_quality=62.5,
        max_per_run=4,
        interval=None,
        cron="0 9 * * 1-5",
        timezone="Europe/Berlin",
        quiet_hours=QuietHours(datetime(2000, 1, 1, 22).time(), datetime(2000, 1, 1, 7).time()),
        max_age=None,
        types=("article",),
        exclude_types=("video",),
        providers=("Reuters",),
        exclude_providers=("spam.example",),
        mention_role_id=99,
        crosspost=True,
        thread=True,
        thread_archive="7d",
        forum_tags="none",
        edits=False,
        edit_window=None,
        on_removed="delete",
        keywords=("robots", '"machine learning"'),
        exclude_keywords=("crypto",),
        mode="digest",
        digest_size=8,
        enabled=False,
    )
    # every field differs from its default, so a field the store forgets cannot pass unseen
    defaults = SubscriptionSpec(channel_id=7)
    assert [
        name
        for name in SubscriptionSpec.model_fields
        if getattr(original, name) == getattr(defaults, name)
    ] == ["channel_id"]
    await store.sync_from_config([original])
    stored = await store.get_by_channel(7)
    assert stored is not None
    assert stored.spec == original
    assert stored.origin == "config"
    await store.update_spec(7, defaults)  # a moderator's edit writes every field back
    edited = await store.get_by_channel(7)
    assert edited is not None and edited.spec == defaults


async def test_moderator_edits_survive_restarts_until_the_same_field_changes_in_the_file(
    db: Db,
) -> None:
    store = SubscriptionStore(db)
    config = spec(1, min_quality=60, max_per_run=3)
    await store.sync_from_config([config])
    # a moderator raises the bar
    await store.update_spec(1, config.model_copy(update=dict(min_quality=80)))
    # restart with the same config file: the moderator's value stays
    report = await store.sync_from_config([config])
    assert report.updated == []
    stored = await store.get_by_channel(1)
    assert stored is not None
    assert stored.spec.min_quality == 80
    # someone edits another field in the file: only that field changes
    await store.sync_from_config([config.model_copy(update=dict(max_per_run=5))])
    stored = await store.get_by_channel(1)
    assert stored is not None
    assert (stored.spec.min_quality, stored.spec.max_per_run) == (80, 5)
    # and editing the same field in the file wins over the moderator
    await store.sync_from_config([config.model_copy(update=dict(max_per_run=5, min_quality=70))])
    stored = await store.get_by_channel(1)
    assert stored is not None
    assert stored.spec.min_quality == 70


async def test_removed_from_the_file_is_removed_but_moderator_subscriptions_stay(
    db: Db,
) -> None:
    store = SubscriptionStore(db)
    await store.sync_from_config([spec(1), spec(2)])
    await store.create(spec(3), guild_id=10)
    report = await store.sync_from_config([spec(2)])
    assert report.removed == [1]
    assert [s.channel_id for s in await store.list()] == [2, 3]
    # a config entry for a moderator-made subscription takes it over entirely
    await store.sync_from_config([spec(2), spec(3, min_quality=90)])
    taken = await store.get_by_channel(3)
    assert taken is not None
    assert (taken.origin, taken.spec.min_quality, taken.guild_id) == ("config", 90, 10)


async def test_pause_resume_and_switch(db: Db) -> None:
    store = SubscriptionStore(db)
    await store.sync_from_config([spec(1)])
    sub = await store.get_by_channel(1)
    assert sub is not None
    assert sub.active
    await store.pause(sub.id, "missing permissions: Send Messages")
    paused = await store.get_by_channel(1)
    assert paused is not None
    assert not paused.active
    assert paused.paused_reason == "missing permissions: Send Messages"
    await store.set_enabled(sub.id, False)
    await store.set_enabled(sub.id, True)  # a moderator switching it on also lifts the pause
    back = await store.get_by_channel(1)
    assert back is not None
    assert back.active


async def test_guild_settings_default_to_the_config_and_change_one_at_a_time(
    db: Db,
) -> None:
    guilds = GuildStore(db)
    assert await guilds.get(5) == GuildSettings(5)
    await guilds.set_publishing(5, False)
    await guilds.set_log_channel(5, 77)
    roles = await guilds.change_moderator_roles(5, (1, 2), add=3, remove=1)
    assert roles == (2, 3)
    assert await guilds.get(5) == GuildSettings(5, False, 77, (2, 3))
    # concurrent changes of different settings never undo each other
    await asyncio.gather(
        guilds.set_publishing(5, True),
        guilds.set_log_channel(5, 88),
        guilds.change_moderator_roles(5, (), add=4, remove=None),
    )
    assert await guilds.get(5) == GuildSettings(5, True, 88, (2, 3, 4))


async def test_first_run_respects_the_last_run_and_never_replays(db: Db) -> None:
    """After downtime an interval job runs once, soon; right after a run it waits its turn."""
    store = SubscriptionStore(db)
    await store.sync_from_config([spec(1, interval=timedelta(minutes=30))])
    sub = await store.get_by_channel(1)
    assert sub is not None
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    settings = settings_from_mapping({"database": {"path": "x.db"}}, {})
    stores = stores_of(db, settings)
    publishing = build_publishing(settings, stores, OfflinePoster(), Metrics(), lambda: now)
    jobs = Jobs(
        sources=settings.sources,
        ingest=settings.ingest,
        publishing=settings.publishing,
        publisher=publishing.publisher,
        pauses=publishing.pauses,
        ingestor=Ingestor(stores.articles, settings.ingest),
        alerts=publishing.alerts,
        subscriptions=store,
        metrics=Metrics(),
        clock=lambda: now,
    )
    jobs.scheduler.start(paused=True)  # running (so jobs are really replaced) but idle
    await store.mark_run(sub.id, now - timedelta(days=3))  # three days of downtime
    jobs.schedule(await store.get_by_channel(1))  # type: ignore[arg-type]
    assert jobs.next_run(sub.id) == now + FIRST_RUN_DELAY
    await store.mark_run(sub.id, now - timedelta(minutes=10))  # ran ten minutes ago
    jobs.schedule(await store.get_by_channel(1))  # type: ignore[arg-type]
    assert jobs.next_run(sub.id) == now + timedelta(minutes=20)
    job = jobs.scheduler.get_job(f"publish:{sub.id}")
    assert job is not None
    assert (job.coalesce, job.max_instances) == (True, 1)
    jobs.scheduler.shutdown(wait=False)


async def test_a_subscription_stored_under_older_rules_still_loads(db: Db) -> None:
    """An upgrade must not lock out what an earlier version stored: a fortnight's interval
    and 40 posts a run (both beyond today's limits) load as they are."""
    store = SubscriptionStore(db)
    await store.sync_from_config([spec(1)])
    await db.execute(
        "UPDATE subscriptions SET interval_seconds = ?, max_per_run = 40 WHERE channel_id = 1",
        (14 * 86400,),
    )
    stored = await store.get_by_channel(1)
    assert stored is not None
    assert (stored.spec.interval, stored.spec.max_per_run) == (timedelta(days=14), 40)
    assert [s.spec.channel_id for s in await store.list()] == [1]


async def test_processes_starting_together_apply_the_config_once(db: Db) -> None:
    """Two processes of one installation sync one config file at the same moment: one adds
    the subscriptions, the other finds them there (PostgreSQL: under an advisory lock)."""
    specs = [spec(channel) for channel in range(1, 301)]
    first, second = await asyncio.gather(
        SubscriptionStore(db).sync_from_config(specs),
        SubscriptionStore(db).sync_from_config(specs),
    )
    assert sorted([first.added, second.added], key=len) == [[], list(range(1, 301))]
    assert len(await SubscriptionStore(db).list()) == 300
