"""Per-guild settings: the publishing switch, the log channel, the moderator roles.

None means "the config file's default" (see bot.services.publishing.guilds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.store.sql import Db
from bot.store.times import db_time, utcnow


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """A guild's own settings; None means "the config file's default"."""

    guild_id: int
    publishing_enabled: bool | None = None
    log_channel_id: int | None = None
    moderator_role_ids: tuple[int, ...] | None = None


class GuildStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        row = await self.db.fetch_one(
            "SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        if row is None:
            return GuildSettings(guild_id)
        roles = json.loads(row["moderator_role_ids"]) if row["moderator_role_ids"] else None
        return GuildSettings(
            guild_id=guild_id,
            publishing_enabled=None
            if row["publishing_enabled"] is None
            else bool(row["publishing_enabled"]),
            log_channel_id=row["log_channel_id"],
            moderator_role_ids=None if roles is None else tuple(roles),
        )

    # One statement per setting: concurrent changes of different settings never undo each other.

    async def set_publishing(self, guild_id: int, enabled: bool | None) -> None:
        await self.db.execute(
            "INSERT INTO guild_settings (guild_id, publishing_enabled, updated_at) "
            "VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
            "publishing_enabled = excluded.publishing_enabled, updated_at = excluded.updated_at",
            (guild_id, None if enabled is None else int(enabled), db_time(utcnow())),
        )

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> None:
        await self.db.execute(
            "INSERT INTO guild_settings (guild_id, log_channel_id, updated_at) "
            "VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
            "log_channel_id = excluded.log_channel_id, updated_at = excluded.updated_at",
            (guild_id, channel_id, db_time(utcnow())),
        )

    async def change_moderator_roles(
        self, guild_id: int, defaults: tuple[int, ...], *, add: int | None, remove: int | None
    ) -> tuple[int, ...]:
        """Add and/or remove a moderator role, atomically; the guild's own list starts from
        ``defaults`` (the config's) the first time it is changed."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT moderator_role_ids FROM guild_settings WHERE guild_id = ?", (guild_id,)
            )
            stored = next(iter(rows), None)
            current = (
                list(json.loads(stored[0])) if stored is not None and stored[0] else list(defaults)
            )
            if add is not None and add not in current:
                current.append(add)
            if remove is not None and remove in current:
                current.remove(remove)
            await tx.execute(
                "INSERT INTO guild_settings (guild_id, moderator_role_ids, updated_at) "
                "VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
                "moderator_role_ids = excluded.moderator_role_ids, "
                "updated_at = excluded.updated_at",
                (guild_id, json.dumps(current), db_time(utcnow())),
            )
        return tuple(current)
