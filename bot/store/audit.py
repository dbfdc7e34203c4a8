"""Moderator actions (who, what, when) and small installation facts (app_state)."""

from __future__ import annotations

from bot.store.sql import Db
from bot.store.times import db_time, utcnow


class AuditStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def record(self, guild_id: int, user_id: int, action: str) -> None:
        await self.db.execute(
            "INSERT INTO moderator_actions (guild_id, user_id, action, at) VALUES (?, ?, ?, ?)",
            (guild_id, user_id, action, db_time(utcnow())),
        )


class StateStore:
    """app_state: small key/value facts, e.g. the hash of the last synced command tree."""

    def __init__(self, db: Db) -> None:
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
