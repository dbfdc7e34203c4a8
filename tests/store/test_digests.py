"""A digest's deliveries: recorded together, found together, sent together."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.delivery import DeliveryState, ThreadState
from bot.domain.delivery_records import from_json, to_line
from bot.domain.models import Article
from bot.store.articles import ArticleStore
from bot.store.db import Database
from bot.store.digests import DigestOutbox
from bot.store.outbox import Outbox
from bot.store.rows import article_rows

NOW = datetime(2024, 1, 1, tzinfo=UTC)


async def test_a_digest_is_recorded_found_and_sent_as_one(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "x.db")
    try:
        articles = [
            Article(url=f"https://e.com/{i}", title=f"t{i}", published_at=NOW) for i in range(5)
        ]
        await ArticleStore(db).apply_batch([article_rows(a) for a in articles])
        outbox, digests = Outbox(db), DigestOutbox(db)
        await outbox.record_intent(10, 4, subscription_id=None, guild_id=2, nonce="post", now=NOW)
        recorded = await digests.record_intent(
            10, [3, 1, 4], subscription_id=None, guild_id=2, nonce="dg", now=NOW, thread_owed=True
        )
        assert [d.article_id for d in recorded] == [3, 1, 4]  # in the order given
        assert [d.nonce for d in recorded] == ["dg", "dg", "post"]  # 4 has a post of its own
        assert [d.digest for d in recorded] == [True, True, False]
        assert [d.thread_state for d in recorded] == [ThreadState.OWED, None, None]
        await outbox.cancel(10, [3, 1])
        assert [d.article_id for d in await outbox.open_deliveries(10)] == [4]

        first = await digests.record_intent(
            10, [3, 1], subscription_id=None, guild_id=2, nonce="dg", now=NOW
        )
        again = await digests.record_intent(
            10, [3, 1], subscription_id=None, guild_id=2, nonce="dg", now=NOW + timedelta(minutes=1)
        )
        assert [d.attempts for d in first] == [1, 1]
        assert [d.attempts for d in again] == [2, 2]
        await outbox.mark_all_sent(10, [(3, "s3"), (1, "s1")], 999, NOW)
        carried = await digests.of(10, "dg")
        assert [(d.article_id, d.state, d.message_id, d.shown_hash) for d in carried] == [
            (1, DeliveryState.SENT, 999, "s1"),
            (3, DeliveryState.SENT, 999, "s3"),
        ]
        assert await digests.of(20, "dg") == []
        assert await digests.of(10, "post") == []  # a post is not a digest

        copy = await Database.open(tmp_path / "copy.db")
        try:  # an export restored elsewhere still knows its digests
            await ArticleStore(copy).apply_batch([article_rows(a) for a in articles])
            lines = [to_line(r) async for r in outbox.records()]
            assert sum('"digest":true' in line for line in lines) == 2
            await Outbox(copy).restore([from_json(json.loads(line)) for line in lines])
            restored = await DigestOutbox(copy).of(10, "dg")
            assert [(d.article_id, d.message_id) for d in restored] == [(1, 999), (3, 999)]
        finally:
            await copy.close()
    finally:
        await db.close()
