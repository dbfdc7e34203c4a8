"""The outbox's delivery records, read back page by page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.delivery import ThreadState
from bot.domain.delivery_records import from_json, to_line
from bot.domain.models import Article
from bot.store.articles import ArticleStore
from bot.store.db import Database
from bot.store.outbox import Outbox
from bot.store.rows import article_rows

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("page", [1, 2, 4, 1000])
async def test_every_record_is_read_whatever_the_page_size(tmp_path: Path, page: int) -> None:
    """A page may end in the middle of one article's records (three channels each here)."""
    db = await Database.open(tmp_path / "x.db")
    try:
        articles = [
            Article(url=f"https://e.com/{i}", title=f"t{i}", published_at=NOW) for i in range(3)
        ]
        await ArticleStore(db).apply_batch([article_rows(a) for a in articles])
        outbox = Outbox(db)
        for article_id in (1, 2, 3):
            for channel in (30, 10, 20):
                await outbox.record_intent(
                    channel, article_id, subscription_id=None, guild_id=None, nonce="n", now=NOW
                )
                await outbox.mark_sent(channel, article_id, channel * 100 + article_id, NOW)
        records = [(r.url, r.channel_id, r.message_id) async for r in outbox.records(page=page)]
        assert records == [
            (f"https://e.com/{a - 1}", channel, channel * 100 + a)
            for a in (1, 2, 3)
            for channel in (10, 20, 30)
        ]
    finally:
        await db.close()


async def test_threads_are_owed_until_started_and_survive_export(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "x.db")
    copy = await Database.open(tmp_path / "copy.db")
    try:
        articles = [
            Article(url=f"https://e.com/{i}", title=f"t{i}", published_at=NOW) for i in range(4)
        ]
        for target in (db, copy):
            await ArticleStore(target).apply_batch([article_rows(a) for a in articles])
        outbox = Outbox(db)
        for article_id in (1, 2, 3, 4):
            await outbox.record_intent(
                10,
                article_id,
                subscription_id=None,
                guild_id=None,
                nonce="n",
                now=NOW,
                thread_owed=article_id != 4,
            )
        assert await outbox.owed_threads(10) == []  # nothing is owed before the post exists
        await outbox.mark_sent(10, 1, 101, NOW)
        await outbox.mark_sent(10, 2, 102, NOW)
        await outbox.mark_sent(10, 3, None, NOW)  # deleted by a moderator at once: no thread
        await outbox.mark_sent(10, 4, 104, NOW, thread_id=104)  # a forum post is its thread
        assert [d.article_id for d in await outbox.owed_threads(10)] == [1, 2]
        await outbox.mark_thread(10, 1, ThreadState.STARTED, thread_id=101)
        await outbox.mark_thread(10, 2, ThreadState.NONE, error="missing permissions")
        assert await outbox.owed_threads(10) == []
        records = [r async for r in outbox.records()]
        shown = [(r.thread_id, r.thread_state, r.thread_error) for r in records]
        assert shown == [
            (101, ThreadState.STARTED, None),
            (None, ThreadState.NONE, "missing permissions"),
            (None, ThreadState.NONE, None),
            (104, ThreadState.STARTED, None),
        ]
        lines = [to_line(r) for r in records]
        restored = await Outbox(copy).restore([from_json(json.loads(line)) for line in lines])
        assert restored.restored == 4
        assert [to_line(r) async for r in Outbox(copy).records()] == lines
    finally:
        await db.close()
        await copy.close()
