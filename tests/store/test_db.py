"""The database: migrations recorded in user_version, WAL, one writer at a time."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.errors import DatabaseError
from bot.store.db import Database
from bot.store.schema import migrate, migration_files, schema_version


class _Script:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self._text = text

    def read_text(self, encoding: str = "utf-8") -> str:
        return self._text


class _Dir:
    """A migrations directory in memory (the Traversable subset migrate() uses)."""

    def __init__(self, **scripts: str) -> None:
        self._files = [_Script(name, text) for name, text in scripts.items()]

    def iterdir(self) -> list[_Script]:
        return list(self._files)


async def test_fresh_database_reaches_the_newest_version(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.db")
    try:
        assert await schema_version(db.writer) == len(migration_files())
        rows = await db.fetch("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
        rows = await db.fetch("PRAGMA foreign_keys")
        assert rows[0][0] == 1
    finally:
        await db.close()


async def test_reopening_migrates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    await (await Database.open(path)).close()
    conn = await aiosqlite.connect(path)
    try:
        before = await schema_version(conn)
        assert await migrate(conn) == before
        assert await schema_version(conn) == before
    finally:
        await conn.close()


async def test_migrations_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    conn = await aiosqlite.connect(tmp_path / "a.db")
    try:
        with pytest.raises(DatabaseError, match="without gaps"):
            await migrate(conn, _Dir(**{"0001_a.sql": "", "0003_c.sql": ""}))  # type: ignore[arg-type]
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    conn = await aiosqlite.connect(tmp_path / "a.db", isolation_level=None)
    try:
        good = _Dir(**{"0001_a.sql": "CREATE TABLE a (x INTEGER);"})
        assert await migrate(conn, good) == 1  # type: ignore[arg-type]
        bad = _Dir(
            **{
                "0001_a.sql": "CREATE TABLE a (x INTEGER);",
                "0002_b.sql": "CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);",
            }
        )
        with pytest.raises(DatabaseError, match=r"0002_b\.sql failed"):
            await migrate(conn, bad)  # type: ignore[arg-type]
        assert await schema_version(conn) == 1
        tables = await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        assert [t[0] for t in tables] == ["a"]  # table b was rolled back with the version bump
    finally:
        await conn.close()


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    raw.close()
    with pytest.raises(DatabaseError, match="written by a newer Newsdesk"):
        await Database.open(path)


async def test_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot"):
        await Database.open(path)


async def test_a_failed_write_unit_is_rolled_back(db: Database) -> None:
    async def failing_unit() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO app_state (key, value) VALUES ('a', '1')")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing_unit()
    assert await db.fetch("SELECT * FROM app_state") == []


async def test_two_coroutines_never_commit_each_others_half_done_work(db: Database) -> None:
    """A's unit is open and waiting; B's unit must not commit A's first insert."""
    a_inside = asyncio.Event()
    release_a = asyncio.Event()

    async def failing_unit() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO app_state (key, value) VALUES ('a', 'half')")
            a_inside.set()
            await release_a.wait()
            raise RuntimeError("A fails after B tried to commit")

    async def unit_a() -> None:
        with pytest.raises(RuntimeError):
            await failing_unit()

    async def unit_b() -> None:
        await a_inside.wait()
        task = asyncio.ensure_future(db.execute("INSERT INTO app_state VALUES ('b', 'whole')"))
        await asyncio.sleep(0.05)
        assert not task.done()  # B waits for A's unit to finish
        release_a.set()
        await task

    await asyncio.gather(unit_a(), unit_b())
    rows = await db.fetch("SELECT key, value FROM app_state ORDER BY key")
    assert [tuple(r) for r in rows] == [("b", "whole")]


async def test_reads_are_not_queued_behind_a_long_write(db: Database) -> None:
    """The reader has its own connection: it answers while a write unit is open (WAL)."""
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO app_state VALUES ('pending', 'x')")
        rows = await asyncio.wait_for(db.fetch("SELECT count(*) FROM app_state"), timeout=2)
        assert rows[0][0] == 0  # the uncommitted row is invisible to the reader
    rows = await db.fetch("SELECT count(*) FROM app_state")
    assert rows[0][0] == 1


async def test_the_reader_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.fetch("INSERT INTO app_state VALUES ('x', 'y')")


async def test_a_cancelled_write_unit_never_leaves_a_transaction_open(db: Database) -> None:
    inside = asyncio.Event()

    async def unit() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO app_state VALUES ('a', 'cancelled')")
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.ensure_future(unit())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.execute("INSERT INTO app_state VALUES ('b', 'next unit')")
    rows = await db.fetch("SELECT key FROM app_state ORDER BY key")
    assert [r[0] for r in rows] == ["b"]


async def test_cancelled_while_committing_the_commit_still_completes(db: Database) -> None:
    async def unit() -> None:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO app_state VALUES (?, 'x')", [(f"k{i}",) for i in range(2000)]
            )

    task = asyncio.ensure_future(unit())
    for _ in range(200):  # cancel at some point of the unit, commit included
        await asyncio.sleep(0)
        if task.done():
            break
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    count = (await db.fetch("SELECT count(*) FROM app_state"))[0][0]
    assert count in (0, 2000)  # all or nothing, whatever moment the cancel hit
    await db.execute("INSERT INTO app_state VALUES ('after', 'ok')")


def test_article_statements_name_the_columns_in_row_order() -> None:
    """ArticleRows.values is positional: the SQL must list ARTICLE_COLUMNS in that order."""
    import re

    from bot.store import articles
    from bot.store.rows import ARTICLE_COLUMNS

    inserted = re.search(r"\(\s*id,(.*?)\)\s*VALUES", articles._INSERT_ARTICLE, re.S)
    assert inserted is not None
    names = [c.strip() for c in inserted.group(1).split(",")]
    assert names[: len(ARTICLE_COLUMNS)] == list(ARTICLE_COLUMNS)
    assert names[len(ARTICLE_COLUMNS) :] == [
        "content_hash",
        "source_path",
        "ingested_at",
        "updated_at",
        "postable",
        "shown_hash",
        "withdrawn_at",
        "restricted",
        "scope",
    ]
    assert articles._INSERT_ARTICLE.count("?") == len(names) + 1
    updated = re.findall(r"(\w+) = \?", articles._UPDATE_ARTICLE)
    assert updated[: len(ARTICLE_COLUMNS)] == list(ARTICLE_COLUMNS)


async def test_a_locked_database_is_reported_not_read_around(tmp_path: Path) -> None:
    """Reading it ``immutable`` instead would ignore the writer's lock and could return torn
    pages; a locked database is a failure to report (after the busy timeout, 5 s)."""
    path = tmp_path / "x.db"
    await (await Database.open(path)).close()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode = DELETE")  # a rollback journal: writers block readers
        writer.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseError, match="database is locked"):
            await Database.open_readonly(path)
    finally:
        writer.close()


async def test_search_scope_migration_indexes_who_may_see_each_article(tmp_path: Path) -> None:
    """0010 copies visibility (0009's restricted and article_guilds) into the full-text
    indexes: a database of the previous version searches the same after the upgrade."""
    from importlib.resources import files

    from bot.store.browse import BrowseStore, fts_query

    real = files("bot.store.migrations")
    older = _Dir(
        **{
            f.name: f.read_text()
            for f in real.iterdir()
            if f.name.endswith(".sql") and int(f.name[:4]) <= 9
        }
    )
    path = tmp_path / "old.db"
    conn = await aiosqlite.connect(path)
    try:
        assert await migrate(conn, older) == 9
        for n, (restricted, guilds) in enumerate([(0, ()), (1, (111,)), (1, (111, 222)), (1, ())]):
            await conn.execute(
                "INSERT INTO articles (id, url, title, published_at, type, source_published, "
                "postable, topics_text, content_hash, ingested_at, updated_at, restricted) "
                "VALUES (?, ?, ?, '2026-12-01T00:00:00Z', 'article', 0, 1, '', 'h', "
                "'2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', ?)",
                (n + 1, f"https://x.example/{n}", f"Robots {n}", restricted),
            )
            for guild in guilds:
                await conn.execute("INSERT INTO article_guilds VALUES (?, ?)", (n + 1, guild))
        await conn.commit()
    finally:
        await conn.close()
    db = await Database.open(path)  # migrates to the newest version
    try:
        browse = BrowseStore(db)
        query = fts_query("robots")
        assert query is not None
        seen = {
            guild: sorted(m.id for m in await browse.search(query, None, guild=guild))
            for guild in (None, 111, 222, 333)
        }
        assert seen == {None: [1], 111: [1, 2, 3], 222: [1, 3], 333: [1]}
        titles = await browse.complete_article("rob", guild=222)
        assert sorted(a.id for a in titles) == [1, 3]
    finally:
        await db.close()
