"""The edit queue: which posts a re-ingest queues for an edit, and how they leave the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.edits import shown_digest
from bot.domain.ingest import parse_file
from bot.domain.models import Article
from bot.store.articles import ArticleStore
from bot.store.db import Database
from bot.store.edits import FLAG_SQL, EditQueue
from bot.store.outbox import Outbox
from bot.store.rows import article_rows
from tests.conftest import FIXTURES, SAMPLES

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def story(n: int, **changes: object) -> Article:
    base = Article(
        url=f"https://e.com/{n}", title=f"Title {n}", published_at=NOW, excerpt="x", quality=70
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "x.db")
    try:
        yield database
    finally:
        await database.close()


async def post(outbox: Outbox, channel: int, article_id: int, message_id: int | None) -> None:
    await outbox.record_intent(
        channel, article_id, subscription_id=None, guild_id=None, nonce="n", now=NOW
    )
    if message_id is not None or channel < 0:
        await outbox.mark_sent(channel, article_id, message_id, NOW, shown="stale")


async def due_ids(db: Database) -> list[tuple[int, int]]:
    rows = await db.fetch(
        "SELECT channel_id, article_id FROM deliveries WHERE edit_due = 1 "
        "ORDER BY channel_id, article_id"
    )
    return [(r[0], r[1]) for r in rows]


async def test_the_digest_of_a_stored_article_is_the_digest_ingest_stored(db: Database) -> None:
    """The publisher computes it from the article read back; ingest from the parsed one."""
    files = sorted(SAMPLES.glob("*.md")) + sorted((FIXTURES / "articles").glob("*.md"))
    parsed = [a for f in files for a in parse_file(str(f), f.read_bytes()).articles]
    store = ArticleStore(db)
    await store.apply_batch([article_rows(a) for a in parsed])
    stored = {a.url: a async for a, _ in store.iter_all()}
    assert len(stored) >= 59
    assert any(a.related for a in stored.values())
    for article in parsed:
        assert shown_digest(stored[article.url]) == shown_digest(article), article.url
    rows = await db.fetch("SELECT url, shown_hash FROM articles")
    assert {r[0]: r[1] for r in rows} == {a.url: shown_digest(a) for a in parsed}


async def test_a_change_that_shows_queues_each_standing_post_once(db: Database) -> None:
    store, outbox = ArticleStore(db), Outbox(db)
    await store.apply_batch([article_rows(story(n)) for n in (1, 2, 3)])
    for channel in (10, 20):
        for article_id in (1, 2, 3):
            await post(outbox, channel, article_id, channel * 100 + article_id)
    await outbox.mark_sent(10, 1, 1001, NOW, shown=shown_digest(story(1)))
    await post(outbox, 30, 1, None)  # pending: its outcome is unknown
    await post(outbox, -40, 1, None)  # sent, and a moderator deleted it at once
    await db.execute("UPDATE deliveries SET edit_due = 0")
    result = await store.apply_batch(
        [
            article_rows(story(1, title="Title 1, corrected")),
            article_rows(story(2, quality=71)),  # re-scored: not shown
            article_rows(story(3)),  # unchanged
        ]
    )
    assert result.outcomes == {
        "https://e.com/1": "updated",
        "https://e.com/2": "updated",
        "https://e.com/3": "unchanged",
    }
    assert result.reshown == [1]
    assert await due_ids(db) == [(10, 1), (20, 1)]


async def test_articles_stored_before_digests_edit_nothing_until_their_next_change(
    db: Database,
) -> None:
    store, outbox = ArticleStore(db), Outbox(db)
    await store.apply_batch([article_rows(story(1))])
    await post(outbox, 10, 1, 1001)
    await db.execute("UPDATE articles SET shown_hash = NULL")  # as migration 0003 left it
    await db.execute("UPDATE deliveries SET shown_hash = NULL, edit_due = 0")
    await store.apply_batch([article_rows(story(1, title="Second"))])
    assert await due_ids(db) == []  # what the post shows is not known
    await store.apply_batch([article_rows(story(1, title="Third"))])
    assert await due_ids(db) == [(10, 1)]


async def test_a_post_sent_while_its_article_changed_is_due_at_once(db: Database) -> None:
    store, outbox = ArticleStore(db), Outbox(db)
    await store.apply_batch([article_rows(story(1)), article_rows(story(2))])
    for article_id in (1, 2):
        await outbox.record_intent(
            10, article_id, subscription_id=None, guild_id=None, nonce="n", now=NOW
        )
    await store.apply_batch([article_rows(story(1, title="Changed while sending"))])
    await outbox.mark_sent(10, 1, 1001, NOW, shown=shown_digest(story(1)))
    await outbox.mark_sent(10, 2, 1002, NOW, shown=shown_digest(story(2)))
    assert await due_ids(db) == [(10, 1)]


async def test_due_edits_newest_first_within_the_window(db: Database) -> None:
    store, outbox, queue = ArticleStore(db), Outbox(db), EditQueue(db)
    await store.apply_batch([article_rows(story(n)) for n in (1, 2, 3, 4)])
    for n, age in ((1, 1), (2, 3), (3, 10), (4, 2)):
        await outbox.record_intent(10, n, subscription_id=None, guild_id=None, nonce="n", now=NOW)
        await outbox.mark_sent(10, n, 1000 + n, NOW - timedelta(days=age), shown="old")
    assert await due_ids(db) == [(10, n) for n in (1, 2, 3, 4)]
    due = await queue.due(10, now=NOW, cutoff=NOW - timedelta(days=7), limit=2)
    assert [d.article_id for d in due] == [1, 4]
    assert await due_ids(db) == [(10, 1), (10, 2), (10, 4)]  # 3 is older than the window
    await queue.retry_later(10, 1, "503", NOW + timedelta(minutes=5))
    later = await queue.due(10, now=NOW, cutoff=None, limit=10)
    assert [d.article_id for d in later] == [4, 2]
    assert [d.edit_attempts for d in later] == [0, 0]
    assert (await queue.due(10, now=NOW + timedelta(hours=1), cutoff=None, limit=1))[
        0
    ].article_id == 1
    await queue.edited(10, 4, shown_digest(story(4)))
    await queue.gone(10, 2, "the post was deleted (10008)")
    assert await due_ids(db) == [(10, 1)]
    await store.apply_batch(
        [article_rows(story(2, title="New")), article_rows(story(4, title="New"))]
    )
    assert await due_ids(db) == [(10, 1), (10, 4)]  # a gone post is never queued again
    assert await queue.waiting(10) == 2
    await queue.drop(10)
    assert await queue.waiting(10) == 0


async def test_an_edit_confirmed_after_another_change_stays_due(db: Database) -> None:
    store, outbox, queue = ArticleStore(db), Outbox(db), EditQueue(db)
    await store.apply_batch([article_rows(story(1))])
    await post(outbox, 10, 1, 1001)
    assert len(await queue.due(10, now=NOW, cutoff=None, limit=5)) == 1
    await store.apply_batch([article_rows(story(1, title="Changed during the edit"))])
    await queue.edited(10, 1, shown_digest(story(1)))  # what the edit showed: the older one
    assert await due_ids(db) == [(10, 1)]
    await queue.edited(10, 1, shown_digest(story(1, title="Changed during the edit")))
    assert await due_ids(db) == []


async def test_finding_edits_reads_indexes_not_the_deliveries(db: Database) -> None:
    plan = await db.fetch(f"EXPLAIN QUERY PLAN {FLAG_SQL}", ("[1, 2]",))
    text = " | ".join(str(r[3]) for r in plan)
    assert "deliveries_article" in text, text
    assert "SCAN deliveries" not in text, text
    due = await db.fetch(
        "EXPLAIN QUERY PLAN SELECT * FROM deliveries WHERE channel_id = ? AND edit_due = 1 "
        "AND (edit_next_at IS NULL OR edit_next_at <= ?) ORDER BY sent_at DESC LIMIT ?",
        (10, "x", 3),
    )
    assert "deliveries_edit_due" in " | ".join(str(r[3]) for r in due)
