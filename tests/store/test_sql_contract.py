"""The store contract's SQL surface (bot.store.sql) behaves the same on both databases."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from bot.store.sql import Db, UniqueViolation, in_json


@pytest.fixture
def db(any_db: Db) -> Db:
    return any_db


async def test_writes_report_the_rows_they_changed(db: Db) -> None:
    async with db.transaction() as tx:
        assert await tx.execute("INSERT INTO app_state (key, value) VALUES (?, ?)", ("a", "1")) == 1
        await tx.executemany(
            "INSERT INTO app_state (key, value) VALUES (?, ?)", [("b", "2"), ("c", "3")]
        )
        assert await tx.execute("UPDATE app_state SET value = 'x' WHERE key <> 'a'") == 2
        assert await tx.execute("DELETE FROM app_state WHERE key = 'nobody'") == 0
        row = await tx.fetch_one("SELECT value FROM app_state WHERE key = :key", {"key": "b"})
    assert row is not None and row["value"] == row[0] == "x"
    assert await db.fetch_value("SELECT count(*) FROM app_state") == 3
    assert await db.fetch_one("SELECT value FROM app_state WHERE key = 'nobody'") is None
    assert await db.fetch_value("SELECT value FROM app_state WHERE key = 'nobody'") is None
    assert [dict(r) for r in await db.fetch("SELECT key FROM app_state ORDER BY key")] == [
        {"key": "a"},
        {"key": "b"},
        {"key": "c"},
    ]


async def test_a_unit_that_fails_leaves_nothing_behind(db: Db) -> None:
    async def failing() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO app_state (key, value) VALUES ('gone', '1')")
            raise RuntimeError("the body failed")

    with pytest.raises(RuntimeError):
        await failing()
    await db.execute("INSERT INTO app_state (key, value) VALUES ('kept', '1')")
    assert await db.fetch_value("SELECT count(*) FROM app_state") == 1


async def test_a_unique_key_taken_twice_is_a_unique_violation_and_rolls_back(db: Db) -> None:
    await db.execute("INSERT INTO app_state (key, value) VALUES ('k', '1')")

    async def twice(returning: str) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO app_state (key, value) VALUES ('other', '1')")
            await tx.fetch("INSERT INTO app_state (key, value) VALUES ('k', '2')" + returning)

    for returning in ("", " RETURNING key"):
        with pytest.raises(UniqueViolation) as taken:
            await twice(returning)
        if db.dialect == "sqlite":  # what handles SQLite's errors still sees one
            assert isinstance(taken.value, sqlite3.IntegrityError)
    assert await db.fetch_value("SELECT count(*) FROM app_state") == 1


async def test_in_json_finds_the_listed_values(db: Db) -> None:
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO moderator_actions (guild_id, user_id, action, at) VALUES (?, ?, ?, 't')",
            [(g, g * 10, f"act {g}") for g in range(1, 6)],
        )
    ids = in_json(db.dialect, "int")
    rows = await db.fetch(
        f"SELECT guild_id FROM moderator_actions WHERE guild_id {ids} ORDER BY 1",
        (json.dumps([2, 4, 99]),),
    )
    assert [r[0] for r in rows] == [2, 4]
    texts = in_json(db.dialect, "text")
    rows = await db.fetch(
        f"SELECT action FROM moderator_actions WHERE action {texts} ORDER BY 1",
        (json.dumps(["act 1", "act 5", "it's"]),),
    )
    assert [r[0] for r in rows] == ["act 1", "act 5"]
    assert await db.fetch(f"SELECT 1 FROM moderator_actions WHERE guild_id {ids}", ("[]",)) == []


async def test_units_that_lock_one_name_never_interleave(db: Db) -> None:
    """Read, think, write: without the lock PostgreSQL's units would lose increments."""
    await db.execute("INSERT INTO app_state (key, value) VALUES ('n', '0')")

    async def increment() -> None:
        async with db.transaction() as tx:
            await tx.lock("counter")
            value = await tx.fetch_one("SELECT value FROM app_state WHERE key = 'n'")
            assert value is not None
            await asyncio.sleep(0.02)
            await tx.execute(
                "UPDATE app_state SET value = ? WHERE key = 'n'", (str(int(value[0]) + 1),)
            )

    await asyncio.gather(*(increment() for _ in range(6)))
    assert await db.fetch_value("SELECT value FROM app_state WHERE key = 'n'") == "6"
