"""A digest's deliveries: one per article it carries, recorded and found together.

Every article of a digest has its own delivery (so it counts as delivered to the channel
exactly once, like a post); they share the digest's nonce and, once sent, its message, and
``digest = 1`` marks them (migration 0006). The intent of all of them is one transaction, so a
crash never leaves half a digest recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.delivery import Delivery, DeliveryState, ThreadState
from bot.store.outbox import delivery_from_row, json_ids
from bot.store.sql import Db, in_json
from bot.store.times import db_time

_PENDING = DeliveryState.PENDING.value


class DigestOutbox:
    def __init__(self, db: Db) -> None:
        self.db = db
        self._in_ids = in_json(db.dialect, "int")

    async def record_intent(
        self,
        channel_id: int,
        article_ids: Sequence[int],
        *,
        subscription_id: int | None,
        guild_id: int | None,
        nonce: str,
        now: datetime,
        thread_owed: bool = False,
    ) -> list[Delivery]:
        """Before sending a digest: a pending delivery for each of its articles, or one more
        attempt on each pending one of this digest; in ``article_ids`` order. An article with
        another delivery in the channel keeps it (the caller sees it is not this digest's).
        ``thread_owed``: the digest's discussion thread, recorded on its first article (again
        when a digest is sent again whose first article is another one now)."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO deliveries (channel_id, article_id, subscription_id, guild_id, state, "
                "nonce, intent_at, last_attempt_at, attempts, thread_state, digest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 1) "
                "ON CONFLICT (channel_id, article_id) DO UPDATE SET attempts = attempts + 1, "
                "last_attempt_at = excluded.last_attempt_at, next_attempt_at = NULL, "
                "thread_state = coalesce(excluded.thread_state, thread_state) "
                "WHERE state = ? AND nonce = excluded.nonce",
                [
                    (
                        channel_id,
                        article_id,
                        subscription_id,
                        guild_id,
                        _PENDING,
                        nonce,
                        db_time(now),
                        db_time(now),
                        ThreadState.OWED.value if thread_owed and n == 0 else None,
                        _PENDING,
                    )
                    for n, article_id in enumerate(article_ids)
                ],
            )
            rows = await tx.fetch(
                "SELECT * FROM deliveries WHERE channel_id = ? "  # noqa: S608
                f"AND article_id {self._in_ids}",
                (channel_id, json_ids(article_ids)),
            )
        found = {row["article_id"]: delivery_from_row(row) for row in rows}
        return [found[i] for i in article_ids]

    async def of(self, channel_id: int, nonce: str) -> list[Delivery]:
        """The deliveries of one digest, by article id (reads deliveries_digest)."""
        rows = await self.db.fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND nonce = ? AND digest = 1 "
            "ORDER BY article_id",
            (channel_id, nonce),
        )
        return [delivery_from_row(r) for r in rows]
