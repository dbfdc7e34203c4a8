"""Ingestion against a real SQLite file: idempotent, later file wins, bad files lose nothing."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain.models import Article
from bot.services.ingest.discovery import SourceError
from bot.services.ingest.ingestor import POOL_THRESHOLD, Ingestor
from bot.services.ingest.worker import ParseTask, parse_one
from bot.settings import IngestSettings
from bot.store.articles import ArticleStore
from bot.store.db import Database
from tests.conftest import MALFORMED, ROOT, SAMPLES
from tests.support.articles import article_fields, markdown, write_article


async def table(db: Database, sql: str, *params: object) -> list[tuple]:
    return [tuple(r) for r in await db.fetch(sql, params)]


async def by_url(store: ArticleStore, url: str) -> Article | None:
    row = await store.db.fetch_one("SELECT id FROM articles WHERE url = ?", (url,))
    return await store.get(row[0]) if row else None


def url_of(n: int) -> str:
    return f"https://news.example.com/articles/{n}"


def copy_samples(target: Path) -> Path:
    shutil.copytree(SAMPLES, target)
    shutil.copy(MALFORMED, target)
    return target


async def test_samples_are_stored_and_the_malformed_file_rejected(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    news = copy_samples(tmp_path / "news")
    summary = await ingestor.ingest([news])
    assert (summary.new, summary.updated, summary.unchanged) == (59, 0, 0)
    (rejection,) = summary.rejected
    assert rejection.path.endswith(MALFORMED.name)
    assert (rejection.line, rejection.column) == (5, 35)
    assert await table(db, "SELECT count(*) FROM articles") == [(59,)]

    again = await ingestor.ingest([news])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 59)
    assert again.files_parsed == 0  # unchanged files cost a stat, not a parse
    assert len(again.rejected) == 1  # the bad file is still reported, from the cache


async def test_rescan_rereads_but_writes_nothing(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    news = copy_samples(tmp_path / "news")
    await ingestor.ingest([news])
    before = await table(db, "SELECT id, updated_at, content_hash FROM articles ORDER BY id")
    summary = await ingestor.ingest([news], rescan=True)
    assert summary.files_parsed == 60
    assert (summary.new, summary.updated, summary.unchanged) == (0, 0, 59)
    assert (
        await table(db, "SELECT id, updated_at, content_hash FROM articles ORDER BY id") == before
    )


async def test_touched_but_identical_file_is_reread_and_not_rewritten(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    path = write_article(tmp_path / "news", "a.md", 1)
    await ingestor.ingest([tmp_path / "news"])
    before = await table(db, "SELECT updated_at FROM articles")
    os.utime(path, ns=(1, 1))
    summary = await ingestor.ingest([tmp_path / "news"])
    assert summary.files_parsed == 1
    assert summary.unchanged == 1
    assert await table(db, "SELECT updated_at FROM articles") == before


async def test_changed_file_updates_the_article_and_keeps_publishing_state(
    tmp_path: Path, ingestor: Ingestor, db: Database, store: ArticleStore
) -> None:
    news = tmp_path / "news"
    path = write_article(news, "a.md", 1, related=[{"title": "r", "webUrl": "https://r.example/1"}])
    await ingestor.ingest([news])
    (article_id,) = (await table(db, "SELECT id FROM articles"))[0]
    await db.execute(
        "INSERT INTO deliveries (channel_id, article_id, state, nonce, intent_at, "
        "last_attempt_at, message_id) VALUES (42, ?, 'sent', 'n', "
        "'2021-01-01T00:00:00.000000Z', '2021-01-01T00:00:00.000000Z', 777)",
        (article_id,),
    )
    path.write_text(
        markdown(
            article_fields(
                1,
                title="A new title",
                quality=95,
                heat=-1,
                topics=["Robotics", "Space"],
                related=[{"title": "r2", "webUrl": "https://r.example/2"}],
                images=[{"url": "https://img.example.com/new.jpg"}],
                excerpt="Changed.",
            )
        ),
        encoding="utf-8",
    )
    summary = await ingestor.ingest([news])
    assert (summary.new, summary.updated, summary.unchanged) == (0, 1, 0)
    article = await store.get(article_id)
    assert article is not None
    assert article.title == "A new title"
    assert (article.quality, article.heat, article.excerpt) == (95, -1, "Changed.")
    assert article.topics == ("Robotics", "Space")
    assert [r.url for r in article.related] == ["https://r.example/2"]
    assert article.image_url == "https://img.example.com/new.jpg"
    assert await table(db, "SELECT channel_id, article_id, state, message_id FROM deliveries") == [
        (42, article_id, "sent", 777)
    ]
    counts = dict(await table(db, "SELECT name, article_count FROM topics"))
    assert counts == {"AI": 0, "Robotics": 1, "Space": 1}


async def test_a_bad_version_never_changes_the_stored_good_article(
    tmp_path: Path, ingestor: Ingestor, store: ArticleStore
) -> None:
    news = tmp_path / "news"
    path = write_article(news, "a.md", 1)
    await ingestor.ingest([news])
    good = await by_url(store, "https://news.example.com/articles/1")
    path.write_text(markdown(article_fields(1, quality="excellent")), encoding="utf-8")
    summary = await ingestor.ingest([news])
    assert len(summary.rejected) == 1
    assert summary.rejected[0].error.startswith("quality: expected a number")
    assert await by_url(store, "https://news.example.com/articles/1") == good


async def test_later_file_wins_for_the_same_url(
    tmp_path: Path, ingestor: Ingestor, store: ArticleStore
) -> None:
    news = tmp_path / "news"
    write_article(news, "2021-01-01-a.md", 1, title="First version", quality=50)
    write_article(news, "2021-01-02-b.md", 1, title="Second version", quality=90)
    summary = await ingestor.ingest([news])
    assert (summary.new, summary.updated, summary.unchanged) == (1, 0, 0)
    article = await by_url(store, "https://news.example.com/articles/1")
    assert article is not None
    assert article.title == "Second version"

    # The earlier file changes; the later file is unchanged (skipped by stat) and still wins.
    write_article(news, "2021-01-01-a.md", 1, title="First version, edited", quality=10)
    summary = await ingestor.ingest([news])
    assert summary.files_parsed == 1
    article = await by_url(store, "https://news.example.com/articles/1")
    assert article is not None
    assert article.title == "Second version"
    assert (summary.new, summary.updated, summary.unchanged) == (0, 0, 1)


async def test_later_file_wins_across_batches_without_writing_the_earlier_one(
    tmp_path: Path, store: ArticleStore, db: Database
) -> None:
    """Duplicates in different batches: a rescan writes nothing; the earlier file wins as soon
    as the later one stops carrying the URL."""
    news = tmp_path / "news"
    write_article(news, "a.md", 1, title="First version")
    for n in range(2, 8):  # fillers: batches of two articles put a.md and z.md far apart
        write_article(news, f"m{n}.md", n)
    write_article(news, "z.md", 1, title="Second version")
    ingestor = Ingestor(store, IngestSettings(), batch_articles=2)
    first = await ingestor.ingest([news])
    assert (first.new, first.updated, first.unchanged) == (7, 0, 0)
    assert (await by_url(store, url_of(1))).title == "Second version"  # type: ignore[union-attr]
    before = await table(db, "SELECT id, updated_at, content_hash FROM articles ORDER BY id")

    again = await ingestor.ingest([news], rescan=True)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 7)
    assert await table(db, "SELECT id, updated_at, content_hash FROM articles ORDER BY id") == (
        before
    )

    write_article(news, "z.md", 99, title="Another story")  # z.md no longer carries the URL
    changed = await ingestor.ingest([news], rescan=True)
    assert (changed.new, changed.updated, changed.unchanged) == (1, 1, 6)
    assert (await by_url(store, url_of(1))).title == "First version"  # type: ignore[union-attr]


async def test_a_file_read_in_between_supersedes_a_held_duplicate(
    tmp_path: Path, store: ArticleStore
) -> None:
    """a.md is held for z.md (which stored the URL); m.md, read in between, takes the URL."""
    news = tmp_path / "news"
    write_article(news, "a.md", 1, title="A")
    for n in range(2, 6):
        write_article(news, f"f{n}.md", n)
    write_article(news, "z.md", 1, title="Z")
    ingestor = Ingestor(store, IngestSettings(), batch_articles=2)
    await ingestor.ingest([news])
    write_article(news, "m.md", 1, title="M")
    write_article(news, "z.md", 99, title="Another story")
    summary = await ingestor.ingest([news], rescan=True)
    assert (await by_url(store, url_of(1))).title == "M"  # type: ignore[union-attr]
    assert (summary.new, summary.updated) == (1, 1)


async def test_rescan_of_a_corpus_with_duplicate_urls_writes_nothing(
    tmp_path: Path, db: Database
) -> None:
    """The generator makes 2% duplicate URLs, spread over several batches and the pool."""
    corpus = tmp_path / "corpus"
    generate = [sys.executable, str(ROOT / "tests" / "support" / "gen_corpus.py"), str(corpus)]
    generate += ["-n", "2500", "--seed", "2"]  # seed 2: a duplicate pair straddles a batch
    await asyncio.to_thread(subprocess.run, generate, check=True, capture_output=True)
    ingestor = Ingestor(ArticleStore(db), IngestSettings(workers=2))
    first = await ingestor.ingest([corpus])
    before = await table(db, "SELECT id, updated_at, content_hash FROM articles ORDER BY id")
    assert first.new == len(before) < 2500  # there are duplicates
    again = await ingestor.ingest([corpus], rescan=True)
    assert (again.new, again.updated, again.unchanged) == (0, 0, len(before))
    assert await table(db, "SELECT id, updated_at, content_hash FROM articles ORDER BY id") == (
        before
    )


async def test_url_identity_is_the_canonical_url(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    news = tmp_path / "news"
    write_article(news, "a.md", 1, webUrl="https://EXAMPLE.com/story?utm_source=x#frag")
    write_article(news, "b.md", 2, webUrl=None, originalUrl="https://example.com/story")
    summary = await ingestor.ingest([news])
    assert summary.new == 1
    assert await table(db, "SELECT url FROM articles") == [("https://example.com/story",)]


async def test_topics_are_case_insensitive_with_display_name_kept(
    tmp_path: Path, ingestor: Ingestor, db: Database, store: ArticleStore
) -> None:
    news = tmp_path / "news"
    write_article(news, "a.md", 1, topics=["Computer Vision"])
    write_article(news, "b.md", 2, topics=["computer vision", "AI"])
    await ingestor.ingest([news])
    assert await table(db, "SELECT key, name, article_count FROM topics ORDER BY key") == [
        ("ai", "AI", 1),
        ("computer vision", "Computer Vision", 2),
    ]
    second = await by_url(store, "https://news.example.com/articles/2")
    assert second is not None
    assert second.topics == ("computer vision", "AI")  # the article's own spelling is kept


async def test_related_coverage_links_to_stored_articles_in_either_order(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    news = tmp_path / "news"
    # a.md mentions b's URL before b exists; c.md mentions a's URL after a exists
    write_article(
        news, "a.md", 1, related=[{"title": "B", "webUrl": "https://news.example.com/articles/2"}]
    )
    await ingestor.ingest([news])
    write_article(news, "b.md", 2)
    write_article(
        news,
        "c.md",
        3,
        related=[{"title": "A", "webUrl": "https://news.example.com/articles/1?utm_medium=x"}],
    )
    await ingestor.ingest([news])
    rows = await table(
        db,
        "SELECT a.url, r.url, t.url FROM related r JOIN articles a ON a.id = r.article_id "
        "LEFT JOIN articles t ON t.id = r.linked_article_id ORDER BY a.url",
    )
    assert rows == [
        (
            "https://news.example.com/articles/1",
            "https://news.example.com/articles/2",
            "https://news.example.com/articles/2",
        ),
        (
            "https://news.example.com/articles/3",
            "https://news.example.com/articles/1",
            "https://news.example.com/articles/1",
        ),
    ]


async def test_full_text_index_covers_title_excerpt_topics_and_provider(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    news = tmp_path / "news"
    write_article(
        news,
        "a.md",
        1,
        title="Quantum widgets",
        excerpt="Zebras.",
        topics=["Astronomy"],
        provider={"name": "Daily Planet"},
    )
    await ingestor.ingest([news])
    for term in ("quantum", "zebras", "astronomy", "planet"):
        rows = await table(db, "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", term)
        assert len(rows) == 1, term
    write_article(
        news,
        "a.md",
        1,
        title="Classical gadgets",
        excerpt="Zebras.",
        topics=["Astronomy"],
        provider={"name": "Daily Planet"},
    )
    await ingestor.ingest([news])
    assert (
        await table(db, "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'quantum'") == []
    )
    assert (
        len(await table(db, "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'gadgets'"))
        == 1
    )


async def test_missing_quality_is_stored_as_absent_and_published_flag_kept(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    news = tmp_path / "news"
    write_article(news, "a.md", 1, quality=None, published=True)
    await ingestor.ingest([news])
    assert await table(db, "SELECT quality, source_published FROM articles") == [(None, 1)]


async def test_yaml_list_items_stand_alone(tmp_path: Path, ingestor: Ingestor) -> None:
    import yaml

    path = tmp_path / "batch.yaml"
    path.write_text(
        yaml.safe_dump([article_fields(1), {"title": "broken"}, article_fields(3)]),
        encoding="utf-8",
    )
    summary = await ingestor.ingest([path])
    assert summary.new == 2
    (rejection,) = summary.rejected
    assert rejection.item == 2
    assert rejection.path == str(path)


async def test_only_article_files_are_picked_up_in_directories(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    news = tmp_path / "news"
    write_article(news, "a.md", 1)
    write_article(news / "sub" / "deeper", "b.markdown", 2)
    (news / "notes.txt").write_text("not an article")
    (news / "manifest.json").write_text("{}")
    (news / ".hidden.md").write_text("---\nbroken")
    summary = await ingestor.ingest([news])
    assert summary.new == 2
    assert summary.rejected == []


async def test_missing_source_is_an_error(tmp_path: Path, ingestor: Ingestor) -> None:
    with pytest.raises(SourceError, match="no such file or directory"):
        await ingestor.ingest([tmp_path / "absent"])


def test_a_file_that_cannot_be_read_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    """What a worker returns for a file that vanished (or is unreadable) after discovery."""
    gone = tmp_path / "gone.md"
    result = parse_one(ParseTask("news/gone.md", str(gone)), 1 << 20)
    assert result.rows == ()
    (rejection,) = result.rejections
    assert rejection.path == "news/gone.md"
    assert rejection.error == "cannot read the file: No such file or directory"


def test_an_oversized_markdown_file_is_not_even_read(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * 5000)
    (rejection,) = parse_one(ParseTask("big.md", str(big)), 4096).rejections
    assert rejection.error.startswith("file is too large: 5,000 bytes")


async def test_empty_directory(tmp_path: Path, ingestor: Ingestor) -> None:
    (tmp_path / "empty").mkdir()
    summary = await ingestor.ingest([tmp_path / "empty"])
    assert summary.as_dict() == {
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "withdrawn": 0,
        "withdrawals_refused": [],
    }


async def test_generated_corpus_with_bad_files_through_the_process_pool(
    tmp_path: Path, db: Database
) -> None:
    """Enough files for the spawn pool; the manifest says what must be stored and rejected."""
    corpus = tmp_path / "corpus"
    manifest = tmp_path / "manifest.json"
    generate = [
        sys.executable,
        str(ROOT / "tests" / "support" / "gen_corpus.py"),
        str(corpus),
        "-n",
        str(POOL_THRESHOLD + 100),
        "--bad",
        "18",
        "--seed",
        "7",
        "--manifest",
        str(manifest),
    ]
    await asyncio.to_thread(subprocess.run, generate, check=True, capture_output=True)
    facts = json.loads(manifest.read_text())
    ingestor = Ingestor(ArticleStore(db), IngestSettings(workers=2))
    summary = await ingestor.ingest([corpus])
    assert summary.files_parsed == facts["files"]
    assert sorted(Path(r.path).name for r in summary.rejected) == sorted(
        b["file"] for b in facts["bad_files"]
    )
    stored = (await db.fetch("SELECT count(*) FROM articles"))[0][0]
    assert summary.new == stored
    # the generator counts raw URLs; canonical URLs (no utm_*) can only merge more of them
    assert stored <= facts["unique_urls"]
    assert stored >= facts["unique_urls"] - 5
    again = await ingestor.ingest([corpus])
    assert (again.new, again.updated, again.unchanged) == (0, 0, stored)


async def test_an_article_the_database_refuses_costs_only_its_own_file(
    tmp_path: Path, ingestor: Ingestor, db: Database
) -> None:
    """Whatever makes SQLite refuse one article (here a trigger), the rest is stored."""
    import sqlite3

    news = tmp_path / "news"
    write_article(news, "a.md", 1)
    write_article(news, "b.md", 2, webUrl="https://news.example.com/poison")
    write_article(news, "c.md", 3)
    with sqlite3.connect(db.path) as conn:
        conn.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON articles WHEN NEW.url LIKE '%poison%' "
            "BEGIN SELECT RAISE(ABORT, 'this article is poison'); END"
        )
    conn.close()
    summary = await ingestor.ingest([news])
    assert summary.new == 2
    (rejection,) = summary.rejected
    assert rejection.path.endswith("b.md")
    assert "could not be stored" in rejection.error
    assert "poison" in rejection.error
    again = await ingestor.ingest([news])  # remembered: not retried while the file is unchanged
    assert again.files_parsed == 0
    assert len(again.rejected) == 1
