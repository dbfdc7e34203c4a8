"""ArticleStore against a real SQLite file: the published-flag rule, applied once and later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.models import Article
from bot.store.articles import ArticleStore
from bot.store.db import Database
from bot.store.rows import article_rows

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def corpus() -> list[Article]:
    """Published and unpublished articles, with and without topics."""
    return [
        Article(
            url=f"https://example.com/{i}",
            title=f"Story {i}",
            published_at=NOW - timedelta(hours=i),
            published=i % 2 == 0,
            topics=("AI", "Robots")[: i % 3],
        )
        for i in range(6)
    ]


async def postable(db: Database) -> tuple[list[tuple[str, int]], list[tuple[str, int, int]]]:
    articles = await db.fetch("SELECT url, postable FROM articles ORDER BY url")
    links = await db.fetch(
        "SELECT a.url, t.topic_id, t.postable FROM article_topics t "
        "JOIN articles a ON a.id = t.article_id ORDER BY a.url, t.topic_id"
    )
    return [tuple(r) for r in articles], [tuple(r) for r in links]


@pytest.mark.parametrize(("before", "after"), [(True, False), (False, True)])
async def test_a_switched_published_flag_leaves_what_a_fresh_ingest_would_write(
    tmp_path: Path, before: bool, after: bool
) -> None:
    fresh = await Database.open(tmp_path / "fresh.db")
    switched = await Database.open(tmp_path / "switched.db")
    try:
        rows = [article_rows(a) for a in corpus()]
        fresh_store = ArticleStore(fresh, trust_published_flag=after)
        await fresh_store.apply_published_policy()
        await fresh_store.apply_batch(rows)
        first = ArticleStore(switched, trust_published_flag=before)
        await first.apply_published_policy()
        await first.apply_batch(rows)
        assert await postable(switched) != await postable(fresh)  # the flag matters here
        changed = await ArticleStore(switched, trust_published_flag=after).apply_published_policy()
        assert changed == 3  # the three published articles
        assert await postable(switched) == await postable(fresh)
        assert (
            await ArticleStore(switched, trust_published_flag=after).apply_published_policy() == 0
        )
    finally:
        await fresh.close()
        await switched.close()
