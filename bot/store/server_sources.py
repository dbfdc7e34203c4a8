"""Feeds that moderators added from Discord: one ``sources`` row each, with its server.

Their fetch state lives in the same row as any feed's (bot.store.sources); this module adds
what only they have: the server they belong to, what they were added with, and by whom.
Removing one deletes its row and its items' identities (feed_items), never an article.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.server_sources import server_source_key
from bot.store.sources import SourceState, source_state
from bot.store.sql import Db, UniqueViolation
from bot.store.times import db_time, parse_db_time


class ServerSourceExistsError(Exception):
    """The server already has a source with this URL."""


class ServerSourceLimitError(Exception):
    """The server has as many sources as it may have."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} sources per server")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ServerSource:
    id: int
    guild_id: int
    key: str
    url: str
    topics: tuple[str, ...]
    quality: float
    interval: timedelta
    added_by: int | None
    added_at: datetime


def _source(row: Any) -> ServerSource:
    return ServerSource(
        id=row["id"],
        guild_id=row["guild_id"],
        key=row["key"],
        url=row["url"],
        topics=tuple(json.loads(row["topics_json"] or "[]")),
        quality=float(row["quality"]),
        interval=timedelta(seconds=row["interval_seconds"]),
        added_by=row["added_by"],
        added_at=parse_db_time(row["added_at"]),
    )


class ServerSourceStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def add(
        self,
        guild_id: int,
        url: str,
        *,
        topics: tuple[str, ...],
        quality: float,
        interval: timedelta,
        added_by: int,
        at: datetime,
        limit: int,
    ) -> ServerSource:
        """Raises ServerSourceLimitError when the server has ``limit`` sources already, and
        ServerSourceExistsError when it has this URL (the check and the insert are one
        transaction, so two moderators adding at once cannot pass the limit)."""
        key = server_source_key(guild_id, url)
        async with self.db.transaction() as tx:
            await tx.lock(f"server-sources:{guild_id}")
            [(count,)] = await tx.fetch(
                "SELECT count(*) FROM sources WHERE guild_id = ?", (guild_id,)
            )
            if count >= limit:
                raise ServerSourceLimitError(limit)
            try:
                row = await tx.fetch_one(
                    "INSERT INTO sources (key, kind, guild_id, url, topics_json, quality, "
                    "interval_seconds, added_by, added_at) "
                    "VALUES (?, 'feed', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        key,
                        guild_id,
                        url,
                        json.dumps(list(topics)),
                        quality,
                        int(interval.total_seconds()),
                        added_by,
                        db_time(at),
                    ),
                )
            except UniqueViolation:  # the key is unique: this server has this URL
                raise ServerSourceExistsError(url) from None
            source_id = 0 if row is None else int(row[0])
        return ServerSource(source_id, guild_id, key, url, topics, quality, interval, added_by, at)

    async def remove(self, guild_id: int, url: str) -> ServerSource | None:
        """Forget the server's source of ``url`` (None: it has none)."""
        async with self.db.transaction() as tx:
            rows = list(
                await tx.fetch(
                    "SELECT * FROM sources WHERE guild_id = ? AND url = ?", (guild_id, url)
                )
            )
            if not rows:
                return None
            await tx.execute("DELETE FROM sources WHERE id = ?", (rows[0]["id"],))
        return _source(rows[0])

    async def of_guild(self, guild_id: int) -> list[tuple[ServerSource, SourceState]]:
        """The server's sources, oldest first, each with its fetch state."""
        rows = await self.db.fetch(
            "SELECT * FROM sources WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [(_source(row), source_state(row)) for row in rows]

    async def count(self, guild_id: int) -> int:
        row = await self.db.fetch_one(
            "SELECT count(*) FROM sources WHERE guild_id = ?", (guild_id,)
        )
        return int(row[0]) if row else 0

    async def everyone(self) -> list[tuple[ServerSource, SourceState]]:
        """Every server's sources with their fetch state, by server, oldest first."""
        rows = await self.db.fetch(
            "SELECT * FROM sources WHERE guild_id IS NOT NULL ORDER BY guild_id, id"
        )
        return [(_source(row), source_state(row)) for row in rows]

    async def all(self) -> list[ServerSource]:
        """Every server's sources, oldest first (the order in which they rank)."""
        rows = await self.db.fetch("SELECT * FROM sources WHERE guild_id IS NOT NULL ORDER BY id")
        return [_source(row) for row in rows]
