"""Moderator actions (who, what, when) and small installation facts (app_state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.db import Database
from bot.store.times import db_time, parse_db_time, utcnow


@dataclass(frozen=True, slots=True)
class ModeratorAction:
    guild_id: int
    user_id: int
    action: str
    at: datetime


class AuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, guild_id: int, user_id: int, action: str) -> ModeratorAction:
        at = utcnow()
        await self.db.execute(
            "INSERT INTO moderator_actions (guild_id, user_id, action, at) VALUES (?, ?, ?, ?)",
            (guild_id, user_id, action, db_time(at)),
        )
        return ModeratorAction(guild_id, user_id, action, at)

    async def recent(self, guild_id: int, limit: int = 20) -> list[ModeratorAction]:
        rows = await self.db.fetch(
            "SELECT guild_id, user_id, action, at FROM moderator_actions WHERE guild_id = ? "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [ModeratorAction(r[0], r[1], r[2], parse_db_time(r[3])) for r in rows]


class StateStore:
    """app_state: small key/value facts, e.g. the hash of the last synced command tree."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        row = await self.db.fetch_one("SELECT value FROM app_state WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO app_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
