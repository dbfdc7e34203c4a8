"""Subscriptions and per-guild settings: the publishing configuration that lives in the database.

Subscriptions come from the config file and from moderator commands. Which wins when both
change: the most recent change, field by field. Each config-born subscription remembers the
config entry it last applied (``config_json``); at start-up only the fields whose value *in the
config file* changed since then are written, so a moderator's edit survives restarts until
someone edits that same field in the file. A subscription removed from the file is removed from
the database (its delivery history stays); subscriptions created by moderators are untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.delivery import DeliveryState, ThreadState
from bot.domain.subscription import QuietHours, Subscription, SubscriptionSpec
from bot.domain.values import parse_clock
from bot.store.sql import Db
from bot.store.times import db_time, parse_db_time, utcnow

_PENDING = DeliveryState.PENDING.value
_SENT = DeliveryState.SENT.value
_OWED = ThreadState.OWED.value

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunContext:
    subscription: Subscription
    server_publishing: bool | None  # the guild's own switch; None: the config's default
    has_pending: bool  # deliveries unknown or with a thread owed: settle them before posting
    has_edits: bool = False  # posts queued for an edit (read here, so a run without costs nothing)


@dataclass(slots=True)
class SyncReport:
    added: list[int]
    updated: list[int]
    removed: list[int]


# --------------------------------------------------------------------------- spec <-> row

_SPEC_COLUMNS = (
    "channel_id",
    "topics_json",
    "exclude_topics_json",
    "min_quality",
    "max_per_run",
    "interval_seconds",
    "cron",
    "timezone",
    "quiet_hours",
    "max_age_seconds",
    "types_json",
    "exclude_types_json",
    "providers_json",
    "exclude_providers_json",
    "mention_role_id",
    "crosspost",
    "thread",
    "thread_archive",
    "forum_tags",
    "edits",
    "edit_window_seconds",
    "on_removed",
    "keywords_json",
    "exclude_keywords_json",
    "mode",
    "digest_size",
    "enabled",
)


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def spec_values(spec: SubscriptionSpec) -> tuple[Any, ...]:
    """The spec as column values, in _SPEC_COLUMNS order."""
    return (
        spec.channel_id,
        json.dumps(list(spec.topics)),
        json.dumps(list(spec.exclude_topics)),
        spec.min_quality,
        spec.max_per_run,
        _seconds(spec.interval),
        spec.cron,
        spec.timezone,
        str(spec.quiet_hours) if spec.quiet_hours else None,
        _seconds(spec.max_age),
        json.dumps(list(spec.types)),
        json.dumps(list(spec.exclude_types)),
        json.dumps(list(spec.providers)),
        json.dumps(list(spec.exclude_providers)),
        spec.mention_role_id,
        int(spec.crosspost),
        int(spec.thread),
        spec.thread_archive,
        spec.forum_tags,
        int(spec.edits),
        _seconds(spec.edit_window),
        spec.on_removed,
        json.dumps(list(spec.keywords), ensure_ascii=False),
        json.dumps(list(spec.exclude_keywords), ensure_ascii=False),
        spec.mode,
        spec.digest_size,
        int(spec.enabled),
    )


def spec_from_row(row: Any) -> SubscriptionSpec:
    quiet = None
    if row["quiet_hours"]:
        start, _, end = row["quiet_hours"].partition("-")
        quiet = QuietHours(parse_clock(start), parse_clock(end))
    interval = row["interval_seconds"]
    max_age = row["max_age_seconds"]
    edit_window = row["edit_window_seconds"]
    # Not validated again: a spec stored under older rules (a longer interval, say) must still
    # load, run and show; the rules apply when someone changes it.
    return SubscriptionSpec.model_construct(
        channel_id=row["channel_id"],
        topics=tuple(json.loads(row["topics_json"])),
        exclude_topics=tuple(json.loads(row["exclude_topics_json"])),
        min_quality=row["min_quality"],
        max_per_run=row["max_per_run"],
        interval=None if interval is None else timedelta(seconds=interval),
        cron=row["cron"],
        timezone=row["timezone"],
        quiet_hours=quiet,
        max_age=None if max_age is None else timedelta(seconds=max_age),
        types=tuple(json.loads(row["types_json"])),
        exclude_types=tuple(json.loads(row["exclude_types_json"])),
        providers=tuple(json.loads(row["providers_json"])),
        exclude_providers=tuple(json.loads(row["exclude_providers_json"])),
        mention_role_id=row["mention_role_id"],
        crosspost=bool(row["crosspost"]),
        thread=bool(row["thread"]),
        thread_archive=row["thread_archive"],
        forum_tags=row["forum_tags"],
        edits=bool(row["edits"]),
        edit_window=None if edit_window is None else timedelta(seconds=edit_window),
        on_removed=row["on_removed"],
        keywords=tuple(json.loads(row["keywords_json"])),
        exclude_keywords=tuple(json.loads(row["exclude_keywords_json"])),
        mode=row["mode"],
        digest_size=row["digest_size"],
        enabled=bool(row["enabled"]),
    )


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row["id"],
        spec=spec_from_row(row),
        guild_id=row["guild_id"],
        origin=row["origin"],
        paused_reason=row["paused_reason"],
        paused_at=parse_db_time(row["paused_at"]) if row["paused_at"] else None,
        alerted_reason=row["alerted_reason"],
        last_run_at=parse_db_time(row["last_run_at"]) if row["last_run_at"] else None,
        thread_problem=row["thread_problem"],
    )


def _spec_json(spec: SubscriptionSpec) -> dict[str, Any]:
    return dict(zip(_SPEC_COLUMNS, spec_values(spec), strict=True))


# Written from _SPEC_COLUMNS, so a new field is added in one list (and spec_values).
_SPEC_FIELDS = ", ".join(_SPEC_COLUMNS)
_INSERT = (
    f"INSERT INTO subscriptions ({_SPEC_FIELDS}, origin, config_json, created_at, updated_at) "  # noqa: S608 - constants
    f"VALUES ({', '.join('?' * (len(_SPEC_COLUMNS) + 4))})"
)
_SET_SPEC = ", ".join(f"{column} = ?" for column in _SPEC_COLUMNS[1:])
_UPDATE = (
    f"UPDATE subscriptions SET {_SET_SPEC}, origin = ?, config_json = ?, updated_at = ? "  # noqa: S608 - constants
    "WHERE channel_id = ?"
)
_UPDATE_SPEC = f"UPDATE subscriptions SET {_SET_SPEC}, updated_at = ? WHERE channel_id = ?"  # noqa: S608


_FOR_RUN = f"""
SELECT s.*, g.publishing_enabled AS server_publishing, EXISTS (
    SELECT 1 FROM deliveries d WHERE d.channel_id = s.channel_id AND d.state = '{_PENDING}'
) OR EXISTS (
    SELECT 1 FROM deliveries d WHERE d.channel_id = s.channel_id AND d.thread_state = '{_OWED}'
    AND d.state = '{_SENT}'
) AS pending, EXISTS (
    SELECT 1 FROM deliveries d WHERE d.channel_id = s.channel_id AND d.edit_due = 1
) AS edits_queued
FROM subscriptions s LEFT JOIN guild_settings g ON g.guild_id = s.guild_id
WHERE s.id = ?
"""  # noqa: S608 - a constant


class SubscriptionStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    # ------------------------------------------------------------------ reads

    async def list(self, guild_id: int | None = None) -> list[Subscription]:
        if guild_id is None:
            rows = await self.db.fetch("SELECT * FROM subscriptions ORDER BY id")
        else:
            rows = await self.db.fetch(
                "SELECT * FROM subscriptions WHERE guild_id = ? ORDER BY id", (guild_id,)
            )
        return [_subscription(r) for r in rows]

    async def for_run(self, subscription_id: int) -> RunContext | None:
        """The subscription with what a publishing run checks first, in one read: its
        server's own publishing switch and whether it has deliveries to reconcile."""
        row = await self.db.fetch_one(_FOR_RUN, (subscription_id,))
        if row is None:
            return None
        switch = row["server_publishing"]
        return RunContext(
            _subscription(row),
            None if switch is None else bool(switch),
            bool(row["pending"]),
            bool(row["edits_queued"]),
        )

    async def get_by_channel(self, channel_id: int) -> Subscription | None:
        row = await self.db.fetch_one(
            "SELECT * FROM subscriptions WHERE channel_id = ?", (channel_id,)
        )
        return _subscription(row) if row else None

    # ------------------------------------------------------------------ config sync

    async def sync_from_config(self, specs: Sequence[SubscriptionSpec]) -> SyncReport:
        """Apply the config file's subscriptions (see the module docstring for the rules)."""
        report = SyncReport([], [], [])
        now = db_time(utcnow())
        wanted = {spec.channel_id: spec for spec in specs}
        async with self.db.transaction() as tx:
            await tx.lock("subscriptions:sync")  # processes starting together apply one by one
            rows = await tx.fetch("SELECT * FROM subscriptions")
            existing = {row["channel_id"]: row for row in rows}
            for channel_id, spec in wanted.items():
                new_json = _spec_json(spec)
                row = existing.get(channel_id)
                if row is None:
                    await tx.execute(
                        _INSERT, (*spec_values(spec), "config", json.dumps(new_json), now, now)
                    )
                    report.added.append(channel_id)
                    continue
                old_json = json.loads(row["config_json"]) if row["config_json"] else {}
                changed = {k for k, v in new_json.items() if old_json.get(k, object()) != v}
                if not changed:
                    continue
                current = _spec_json(spec_from_row(row))
                merged = {k: (new_json[k] if k in changed else current[k]) for k in current}
                values = [merged[c] for c in _SPEC_COLUMNS[1:]]
                await tx.execute(
                    _UPDATE, (*values, "config", json.dumps(new_json), now, channel_id)
                )
                report.updated.append(channel_id)
            for channel_id, row in existing.items():
                if row["origin"] == "config" and channel_id not in wanted:
                    await tx.execute("DELETE FROM subscriptions WHERE id = ?", (row["id"],))
                    report.removed.append(channel_id)
        if report.added or report.updated or report.removed:
            log.info(
                "subscriptions from the config: %d added, %d updated, %d removed",
                len(report.added),
                len(report.updated),
                len(report.removed),
            )
        return report

    # ------------------------------------------------------------------ writes

    async def create(self, spec: SubscriptionSpec, guild_id: int | None) -> Subscription:
        now = db_time(utcnow())
        async with self.db.transaction() as tx:
            await tx.execute(_INSERT, (*spec_values(spec), "command", None, now, now))
            await tx.execute(
                "UPDATE subscriptions SET guild_id = ? WHERE channel_id = ?",
                (guild_id, spec.channel_id),
            )
        created = await self.get_by_channel(spec.channel_id)
        assert created is not None
        return created

    async def update_spec(self, channel_id: int, spec: SubscriptionSpec) -> None:
        """A moderator's edit: the spec's fields as given (origin and config memory kept)."""
        values = spec_values(spec)[1:]
        await self.db.execute(_UPDATE_SPEC, (*values, db_time(utcnow()), channel_id))

    async def delete(self, channel_id: int) -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "DELETE FROM subscriptions WHERE channel_id = ?", (channel_id,)
            )
            return changed > 0

    async def set_enabled(self, subscription_id: int, enabled: bool) -> None:
        """The moderators' switch. Switching on also lifts a pause (they fixed the channel)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE subscriptions SET enabled = ?, updated_at = ? WHERE id = ?",
                (int(enabled), db_time(utcnow()), subscription_id),
            )
            if enabled:
                await tx.execute(
                    "UPDATE subscriptions SET paused_reason = NULL, paused_at = NULL WHERE id = ?",
                    (subscription_id,),
                )

    async def pause(self, subscription_id: int, reason: str) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET paused_reason = ?, paused_at = ? WHERE id = ?",
            (reason, db_time(utcnow()), subscription_id),
        )

    async def resume(self, subscription_id: int) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET paused_reason = NULL, paused_at = NULL WHERE id = ?",
            (subscription_id,),
        )

    async def mark_alerted(self, subscription_id: int, reason: str | None) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET alerted_reason = ? WHERE id = ?", (reason, subscription_id)
        )

    async def set_thread_problem(self, subscription_id: int, problem: str | None) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET thread_problem = ? WHERE id = ?", (problem, subscription_id)
        )

    async def set_guild(self, subscription_id: int, guild_id: int | None) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET guild_id = ? WHERE id = ? AND guild_id IS NOT ?",
            (guild_id, subscription_id, guild_id),
        )

    async def mark_run(self, subscription_id: int, when: datetime) -> None:
        await self.db.execute(
            "UPDATE subscriptions SET last_run_at = ? WHERE id = ?",
            (db_time(when), subscription_id),
        )
