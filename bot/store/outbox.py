"""The outbox: per-channel delivery records that make publishing exactly-once.

One row per (channel, article). The intent is recorded *before* a post is sent (``pending``),
the message id after (``sent``). A ``pending`` row found later means the outcome is unknown
and must be reconciled against the channel's history before anything is resent.

All of the deliveries table's SQL lives here, its export and restore included (just over 400
lines): they read and write the same rows under the same state rules, and splitting them
would put one table's invariants in two files.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.delivery import Delivery, DeliveryState, ThreadState
from bot.domain.delivery_records import DeliveryRecord
from bot.store.sql import Db, Tx
from bot.store.times import db_time, optional_db_time, parse_db_time


def delivery_from_row(row: Any) -> Delivery:
    return Delivery(
        channel_id=row["channel_id"],
        article_id=row["article_id"],
        subscription_id=row["subscription_id"],
        state=DeliveryState(row["state"]),
        nonce=row["nonce"],
        intent_at=parse_db_time(row["intent_at"]),
        last_attempt_at=parse_db_time(row["last_attempt_at"]),
        attempts=row["attempts"],
        next_attempt_at=optional_db_time(row["next_attempt_at"]),
        message_id=row["message_id"],
        sent_at=optional_db_time(row["sent_at"]),
        error=row["error"],
        guild_id=row["guild_id"],
        thread_id=row["thread_id"],
        thread_state=ThreadState(row["thread_state"]) if row["thread_state"] else None,
        shown_hash=row["shown_hash"],
        edit_attempts=row["edit_attempts"],
        edit_due=bool(row["edit_due"]),
        gone=row["post_state"] == "gone",
        digest=bool(row["digest"]),
    )


@dataclass(frozen=True, slots=True)
class ChannelQueue:
    """What the outbox holds for one channel, for status reports."""

    pending: int = 0  # outcome unknown, to be reconciled
    retrying: int = 0  # of those, waiting for a backed-off retry
    last_post: datetime | None = None
    edits: int = 0  # posts queued for an edit or a removal action


_PENDING = DeliveryState.PENDING.value

# The one rule for whether a post that shows its article needs a look, given the digest its
# message shows (the one parameter) and the delivery's article: the article was withdrawn (see
# migration 0004), or its digest is known and differs. (Unknown: stored before digests were
# kept, so what its posts show cannot be compared.)
DUE_SQL = (
    "coalesce((SELECT a.withdrawn_at IS NOT NULL OR (a.shown_hash IS NOT NULL "
    "AND a.shown_hash IS NOT ?) FROM articles a WHERE a.id = deliveries.article_id), 0)"
)


_MARK_SENT = (
    "UPDATE deliveries SET state = ?, message_id = ?, sent_at = ?, error = NULL, "  # noqa: S608 - constant
    "next_attempt_at = NULL, thread_id = coalesce(?, thread_id), thread_state = CASE "
    "WHEN ? IS NOT NULL THEN ? WHEN ? IS NULL AND thread_state = ? THEN ? "
    f"ELSE thread_state END, shown_hash = ?, edit_due = ? IS NOT NULL AND {DUE_SQL} "
    "WHERE channel_id = ? AND article_id = ?"
)


class Outbox:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def record_intent(
        self,
        channel_id: int,
        article_id: int,
        *,
        subscription_id: int | None,
        guild_id: int | None,
        nonce: str,
        now: datetime,
        thread_owed: bool = False,
    ) -> Delivery:
        """Before sending: a new pending row, or one more attempt on a pending one.
        ``thread_owed``: a discussion thread is to be started once the post is confirmed."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO deliveries (channel_id, article_id, subscription_id, guild_id, state, "
                "nonce, intent_at, last_attempt_at, attempts, thread_state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) "
                "ON CONFLICT (channel_id, article_id) DO UPDATE SET attempts = attempts + 1, "
                "last_attempt_at = excluded.last_attempt_at, next_attempt_at = NULL "
                "WHERE state = ?",
                (
                    channel_id,
                    article_id,
                    subscription_id,
                    guild_id,
                    _PENDING,
                    nonce,
                    db_time(now),
                    db_time(now),
                    ThreadState.OWED.value if thread_owed else None,
                    _PENDING,
                ),
            )
            rows = await tx.fetch(
                "SELECT * FROM deliveries WHERE channel_id = ? AND article_id = ?",
                (channel_id, article_id),
            )
        return delivery_from_row(next(iter(rows)))

    async def mark_sent(
        self,
        channel_id: int,
        article_id: int,
        message_id: int | None,
        now: datetime,
        thread_id: int | None = None,
        shown: str | None = None,
    ) -> None:
        """The post is in the channel; ``thread_id``: it is a forum post, that thread;
        ``shown``: the digest of the version it shows (due an edit at once if the article
        changed while it was sent). A thread still owed stays owed; one owed by a post a
        moderator deleted is never started."""
        await self.mark_all_sent(channel_id, [(article_id, shown)], message_id, now, thread_id)

    async def mark_all_sent(
        self,
        channel_id: int,
        shown: Sequence[tuple[int, str | None]],
        message_id: int | None,
        now: datetime,
        thread_id: int | None = None,
    ) -> None:
        """mark_sent for every article one message carries (a digest: all of them at once),
        each with what the message shows of it."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                _MARK_SENT,
                [
                    (
                        DeliveryState.SENT.value,
                        message_id,
                        db_time(now),
                        thread_id,
                        thread_id,
                        ThreadState.STARTED.value,
                        message_id,
                        ThreadState.OWED.value,
                        ThreadState.NONE.value,
                        article_shown,
                        message_id,
                        article_shown,
                        channel_id,
                        article_id,
                    )
                    for article_id, article_shown in shown
                ],
            )

    async def mark_thread(
        self,
        channel_id: int,
        article_id: int,
        state: ThreadState,
        *,
        thread_id: int | None = None,
        error: str | None = None,
    ) -> None:
        """What became of a post's discussion thread: started (its id), or none (why)."""
        await self.db.execute(
            "UPDATE deliveries SET thread_state = ?, thread_id = ?, thread_error = ? "
            "WHERE channel_id = ? AND article_id = ?",
            (state.value, thread_id, error, channel_id, article_id),
        )

    async def owed_threads(self, channel_id: int) -> list[Delivery]:
        """Sent posts whose discussion thread is not known to exist yet, oldest first."""
        rows = await self.db.fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND thread_state = ? AND state = ? "
            "ORDER BY sent_at",
            (channel_id, ThreadState.OWED.value, DeliveryState.SENT.value),
        )
        return [delivery_from_row(r) for r in rows]

    # Each of these takes every article one message carries (a post's one, a digest's all) and
    # acts on them in one statement, so a crash never leaves a digest half settled.

    async def retry_later(
        self, channel_id: int, article_ids: Sequence[int], error: str, when: datetime
    ) -> None:
        """The outcome is unknown (5xx, network): stay pending, reconcile and retry ``when``."""
        await self.db.execute(
            "UPDATE deliveries SET error = ?, next_attempt_at = ? WHERE channel_id = ? "
            "AND article_id IN (SELECT value FROM json_each(?)) AND state = ?",
            (error, db_time(when), channel_id, json_ids(article_ids), _PENDING),
        )

    async def cancel(self, channel_id: int, article_ids: Sequence[int]) -> None:
        """Forget pending intents that Discord definitely refused (nothing was created)."""
        await self.db.execute(
            "DELETE FROM deliveries WHERE channel_id = ? "
            "AND article_id IN (SELECT value FROM json_each(?)) AND state = ?",
            (channel_id, json_ids(article_ids), _PENDING),
        )

    async def finish(
        self, channel_id: int, article_ids: Sequence[int], state: DeliveryState, error: str
    ) -> None:
        """A final state other than sent: quarantined, failed, unconfirmed."""
        assert state.final
        await self.db.execute(
            "UPDATE deliveries SET state = ?, error = ?, next_attempt_at = NULL "
            "WHERE channel_id = ? AND article_id IN (SELECT value FROM json_each(?))",
            (state.value, error, channel_id, json_ids(article_ids)),
        )

    async def record_skips(
        self,
        channel_id: int,
        skips: Sequence[tuple[int, str]],
        *,
        subscription_id: int | None,
        guild_id: int | None,
        now: datetime,
    ) -> None:
        """Articles that will never go to this channel (same story): never considered again."""
        if not skips:
            return
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO deliveries (channel_id, article_id, subscription_id, guild_id, state, "
                "nonce, intent_at, last_attempt_at, attempts, error) "
                "VALUES (?, ?, ?, ?, ?, '', ?, ?, 0, ?) "
                "ON CONFLICT (channel_id, article_id) DO NOTHING",
                [
                    (
                        channel_id,
                        article_id,
                        subscription_id,
                        guild_id,
                        DeliveryState.SKIPPED.value,
                        db_time(now),
                        db_time(now),
                        reason,
                    )
                    for article_id, reason in skips
                ],
            )

    async def open_deliveries(self, channel_id: int | None = None) -> list[Delivery]:
        """Pending deliveries (outcome unknown), oldest first."""
        if channel_id is None:
            rows = await self.db.fetch(
                "SELECT * FROM deliveries WHERE state = ? ORDER BY intent_at", (_PENDING,)
            )
        else:
            rows = await self.db.fetch(
                "SELECT * FROM deliveries WHERE state = ? AND channel_id = ? ORDER BY intent_at",
                (_PENDING, channel_id),
            )
        return [delivery_from_row(r) for r in rows]

    async def last_sent(self, channel_id: int, limit: int = 5) -> list[Delivery]:
        rows = await self.db.fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND state = ? "
            "ORDER BY sent_at DESC LIMIT ?",
            (channel_id, DeliveryState.SENT.value, limit),
        )
        return [delivery_from_row(r) for r in rows]

    async def records(self, page: int = 1000) -> AsyncIterator[DeliveryRecord]:
        """Every delivery record, with its article's URL, in article then channel order."""
        after = (0, 0)  # (article, channel): a page can end inside one article's records
        while True:
            rows = await self.db.fetch(_RECORDS, (*after, page))
            if not rows:
                return
            for row in rows:
                yield _record(row)
            after = (rows[-1]["article_id"], rows[-1]["channel_id"])

    async def restore(self, records: Sequence[DeliveryRecord]) -> Restored:
        """Write these records, never over one the store has; one transaction."""
        if not records:
            return Restored()
        urls = sorted({r.url for r in records})
        async with self.db.transaction() as tx:
            known = {
                row[0]
                for row in await tx.fetch(
                    "SELECT url FROM articles WHERE url IN (SELECT value FROM json_each(?))",
                    (json.dumps(urls),),
                )
            }
            wanted = [r for r in records if r.url in known]
            # Counted around the one statement, inside its write unit, among these articles'
            # deliveries only: DO NOTHING skips rows the store has, and executemany reports no
            # row counts on PostgreSQL.
            listed = json.dumps(sorted(known))
            before = await _delivery_count(tx, listed)
            await tx.executemany(_RESTORE, [_restore_values(r) for r in wanted])
            restored = await _delivery_count(tx, listed) - before
        return Restored(restored, len(wanted) - restored, len(records) - len(wanted))

    async def queues(self, channel_ids: Sequence[int]) -> dict[int, ChannelQueue]:
        """Pending and retrying deliveries, the last post and the queued edits, per channel
        (one query; the edits from the partial index deliveries_edit_due)."""
        if not channel_ids:
            return {}
        rows = await self.db.fetch(
            "SELECT c.value AS channel_id, "
            "(SELECT count(*) FROM deliveries d WHERE d.channel_id = c.value AND d.state = ?), "
            "(SELECT count(*) FROM deliveries d WHERE d.channel_id = c.value AND d.state = ? "
            " AND d.next_attempt_at IS NOT NULL), "
            "(SELECT max(sent_at) FROM deliveries d WHERE d.channel_id = c.value AND d.state = ?), "
            "(SELECT count(*) FROM deliveries d WHERE d.channel_id = c.value AND d.edit_due = 1) "
            "FROM json_each(?) c",
            (_PENDING, _PENDING, DeliveryState.SENT.value, json_ids(channel_ids)),
        )
        return {r[0]: ChannelQueue(r[1], r[2], optional_db_time(r[3]), r[4]) for r in rows}


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore of delivery records did."""

    restored: int = 0  # written
    kept: int = 0  # the store already had a record for that article and channel
    unknown: int = 0  # for an article the store does not hold

    def __add__(self, other: Restored) -> Restored:
        return Restored(
            self.restored + other.restored, self.kept + other.kept, self.unknown + other.unknown
        )

    def describe(self) -> str:
        return (
            f"{self.restored} delivery records restored, {self.kept} already there, "
            f"{self.unknown} for articles not stored"
        )


_RESTORE = """
INSERT INTO deliveries (channel_id, article_id, guild_id, state, nonce, intent_at, attempts,
                        message_id, sent_at, error, last_attempt_at, thread_id, thread_state,
                        thread_error, digest)
SELECT ?, a.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM articles a WHERE a.url = ?
ON CONFLICT (channel_id, article_id) DO NOTHING
"""
_RECORDS = """
SELECT d.*, a.url FROM deliveries d JOIN articles a ON a.id = d.article_id
WHERE (d.article_id, d.channel_id) > (?, ?) ORDER BY d.article_id, d.channel_id LIMIT ?
"""


async def _delivery_count(tx: Tx, urls: str) -> int:
    """The deliveries of the articles whose URLs ``urls`` (a JSON list) holds."""
    row = await tx.fetch_one(
        "SELECT count(*) FROM deliveries d JOIN articles a ON a.id = d.article_id "
        "WHERE a.url IN (SELECT value FROM json_each(?))",
        (urls,),
    )
    return int(row[0]) if row else 0


def json_ids(ids: Sequence[int]) -> str:
    """Ids as one JSON list parameter (json_each, in_json), each made an int first."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def _record(row: Any) -> DeliveryRecord:
    delivery = delivery_from_row(row)
    return DeliveryRecord(
        url=row["url"],
        channel_id=delivery.channel_id,
        state=delivery.state,
        nonce=delivery.nonce,
        intent_at=delivery.intent_at,
        last_attempt_at=delivery.last_attempt_at,
        attempts=delivery.attempts,
        guild_id=delivery.guild_id,
        message_id=delivery.message_id,
        sent_at=delivery.sent_at,
        error=delivery.error,
        thread_id=delivery.thread_id,
        thread_state=delivery.thread_state,
        thread_error=row["thread_error"],
        digest=delivery.digest,
    )


def _restore_values(r: DeliveryRecord) -> tuple[Any, ...]:
    return (
        r.channel_id,
        r.guild_id,
        r.state.value,
        r.nonce,
        db_time(r.intent_at),
        r.attempts,
        r.message_id,
        db_time(r.sent_at) if r.sent_at else None,
        r.error,
        db_time(r.last_attempt_at),
        r.thread_id,
        r.thread_state.value if r.thread_state else None,
        r.thread_error,
        int(r.digest),
        r.url,
    )
