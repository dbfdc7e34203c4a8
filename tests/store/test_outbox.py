"""The outbox's delivery records, read back page by page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

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
