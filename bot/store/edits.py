"""The edit queue: posts whose article now shows something else than their message.

A flag on the delivery (``edit_due``) with a partial index, set in the transaction that stores
the changed article and cleared once Discord confirmed the edit (or the post is out of reach).
See migration 0003 and bot.domain.edits for what counts as a change.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.delivery import Delivery, DeliveryState
from bot.domain.edits import WITHDRAWN_SHOWN
from bot.store.outbox import DUE_SQL, delivery_from_row
from bot.store.sql import Db
from bot.store.times import db_time

_SENT = DeliveryState.SENT.value
# Queued posts that only an edit would change: they show their article (not marked withdrawn)
# and it is not withdrawn. Only these leave the queue with edits off or past edit_window: what
# on_removed does to a withdrawn article's post does not depend on either.
_ONLY_EDITS = (
    f"shown_hash IS NOT '{WITHDRAWN_SHOWN}' AND coalesce((SELECT a.withdrawn_at IS NULL "  # noqa: S608
    "FROM articles a WHERE a.id = deliveries.article_id), 1)"
)

# Run by ArticleStore.apply_batch in the transaction that stores the changed articles (?: their
# ids as a JSON list): each live post of them. Reads deliveries_article, never the whole table.
FLAG_SQL = (
    "UPDATE deliveries SET edit_due = 1, edit_attempts = 0, edit_next_at = NULL, "  # noqa: S608
    "edit_error = NULL WHERE article_id IN (SELECT value FROM json_each(?)) "
    f"AND state = '{_SENT}' AND message_id IS NOT NULL AND post_state IS NULL"
)


class EditQueue:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def due(
        self, channel_id: int, *, now: datetime, cutoff: datetime | None, limit: int
    ) -> list[Delivery]:
        """The channel's posts due an edit now, newest first. Posts sent before ``cutoff``
        (older than edit_window) leave the queue unedited."""
        if cutoff is not None:
            await self.db.execute(
                "UPDATE deliveries SET edit_due = 0, edit_error = 'older than edit_window' "  # noqa: S608 - constant
                f"WHERE channel_id = ? AND edit_due = 1 AND sent_at < ? AND {_ONLY_EDITS}",
                (channel_id, db_time(cutoff)),
            )
        rows = await self.db.fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND edit_due = 1 "
            "AND (edit_next_at IS NULL OR edit_next_at <= ?) ORDER BY sent_at DESC LIMIT ?",
            (channel_id, db_time(now), limit),
        )
        return [delivery_from_row(r) for r in rows]

    async def waiting(self, channel_id: int) -> int:
        """How many of the channel's posts wait for an edit."""
        value = await self.db.fetch_value(
            "SELECT count(*) FROM deliveries WHERE channel_id = ? AND edit_due = 1", (channel_id,)
        )
        return int(value)

    async def drop(self, channel_id: int) -> None:
        """The subscription makes no edits (``edits: false``): forget the queued ones (not
        what on_removed does)."""
        await self.db.execute(
            "UPDATE deliveries SET edit_due = 0 "  # noqa: S608 - constant
            f"WHERE channel_id = ? AND edit_due = 1 AND {_ONLY_EDITS}",
            (channel_id,),
        )

    async def edited(self, channel_id: int, article_id: int, shown: str) -> None:
        """Discord confirmed that the message shows ``shown`` (due again if the article
        changed once more meanwhile)."""
        await self.db.execute(
            f"UPDATE deliveries SET shown_hash = ?, edit_due = {DUE_SQL}, edit_attempts = 0, "  # noqa: S608 - constant
            "edit_next_at = NULL, edit_error = NULL WHERE channel_id = ? AND article_id = ?",
            (shown, shown, channel_id, article_id),
        )

    async def marked(self, channel_id: int, article_id: int) -> None:
        """Discord confirmed that the post says the source withdrew the article (due again if
        the article came back meanwhile)."""
        await self.db.execute(
            "UPDATE deliveries SET shown_hash = ?, edit_due = coalesce((SELECT "
            "a.withdrawn_at IS NULL FROM articles a WHERE a.id = deliveries.article_id), 0), "
            "edit_attempts = 0, edit_next_at = NULL, edit_error = NULL "
            "WHERE channel_id = ? AND article_id = ?",
            (WITHDRAWN_SHOWN, channel_id, article_id),
        )

    async def settle(self, channel_id: int, article_id: int, note: str | None = None) -> None:
        """The post stays as it is (on_removed: keep, or nothing left to do)."""
        await self.db.execute(
            "UPDATE deliveries SET edit_due = 0, edit_next_at = NULL, edit_error = ? "
            "WHERE channel_id = ? AND article_id = ?",
            (note, channel_id, article_id),
        )

    async def retry_later(
        self, channel_id: int, article_id: int, error: str, when: datetime
    ) -> None:
        await self.db.execute(
            "UPDATE deliveries SET edit_attempts = edit_attempts + 1, edit_next_at = ?, "
            "edit_error = ? WHERE channel_id = ? AND article_id = ?",
            (db_time(when), error, channel_id, article_id),
        )

    async def give_up(self, channel_id: int, article_id: int, error: str) -> None:
        """This change is not made (locked thread, rejected, retries spent); a later change
        of the article queues the post again."""
        await self.db.execute(
            "UPDATE deliveries SET edit_due = 0, edit_next_at = NULL, edit_error = ? "
            "WHERE channel_id = ? AND article_id = ?",
            (error, channel_id, article_id),
        )

    async def gone(self, channel_id: int, article_id: int, error: str) -> None:
        """Discord says the post was deleted: never edited again, never sent again."""
        await self.db.execute(
            "UPDATE deliveries SET post_state = 'gone', edit_due = 0, edit_next_at = NULL, "
            "edit_error = ? WHERE channel_id = ? AND article_id = ?",
            (error, channel_id, article_id),
        )
