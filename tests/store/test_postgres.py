"""PostgreSQL: the schema is SQLite's, table for table; migrations and the version in the
database; connection failures in one line, with no secret in it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.errors import DatabaseError
from bot.store.copy import TABLES
from bot.store.db import Database
from bot.store.postgres.database import PgDatabase
from bot.store.postgres.schema import VERSION_TABLE, latest_version


def sqlite_shape(path: Path) -> dict[str, set[tuple[str, bool]]]:
    """Each table's columns, with whether they may be NULL (the FTS tables are derived)."""
    with sqlite3.connect(path) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
                "'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '%fts_%'"
            )
        ]
        shape = {
            table: {
                (row[1], bool(row[3]) or bool(row[5]))
                for row in conn.execute(f"PRAGMA table_info({table})")
            }
            for table in tables
        }
    conn.close()
    return shape


async def pg_shape(url: str) -> dict[str, set[tuple[str, bool]]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name, is_nullable = 'NO' AS required "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND is_generated = 'NEVER' AND table_name <> $1",
            VERSION_TABLE,
        )
    finally:
        await conn.close()
    shape: dict[str, set[tuple[str, bool]]] = {}
    for row in rows:
        shape.setdefault(row["table_name"], set()).add((row["column_name"], row["required"]))
    return shape


async def test_both_schemas_have_the_same_tables_and_columns_and_copy_db_knows_them_all(
    tmp_path: Path, pg_url: str
) -> None:
    sqlite_db = await Database.open(tmp_path / "s.db")
    await sqlite_db.close()
    pg = await PgDatabase.open(pg_url, "pg", schema="migrate")
    await pg.close()
    ours, theirs = sqlite_shape(tmp_path / "s.db"), await pg_shape(pg_url)
    assert sorted(ours) == sorted(theirs) == sorted(TABLES)
    for table in TABLES:
        assert ours[table] == theirs[table], table


async def test_migrate_records_the_version_and_a_second_migrate_does_nothing(
    pg_url: str,
) -> None:
    async with await PgDatabase.open(pg_url, "pg", schema="migrate") as pg:
        assert await pg.schema_version() == latest_version()
    # two processes migrating at once: one migrates, the other waits and finds it done
    both = await asyncio.gather(
        *(PgDatabase.open(pg_url, "pg", schema="migrate") for _ in range(2))
    )
    for pg in both:
        assert await pg.schema_version() == latest_version()
        await pg.close()
    conn = await asyncpg.connect(pg_url)
    assert await conn.fetchval(f"SELECT count(*) FROM {VERSION_TABLE}") == latest_version()
    await conn.close()


async def test_a_process_that_does_not_migrate_refuses_an_older_schema_and_a_newer_one(
    pg_url: str,
) -> None:
    with pytest.raises(DatabaseError, match=r"schema version 0, .* run `newsdesk migrate` first"):
        await PgDatabase.open(pg_url, "pg")
    async with await PgDatabase.open(pg_url, "pg", schema="migrate"):
        pass
    conn = await asyncpg.connect(pg_url)
    await conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (99)")
    await conn.close()
    for migrating in (False, True):
        with pytest.raises(DatabaseError, match="written by a newer Newsdesk"):
            await PgDatabase.open(pg_url, "pg", schema="migrate" if migrating else "require")


async def test_a_failing_migration_leaves_the_previous_version(pg_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "migrations"
    broken.mkdir()
    (broken / "0001_ok.sql").write_text("CREATE TABLE one (x integer);", encoding="utf-8")
    (broken / "0002_bad.sql").write_text(
        "CREATE TABLE two (x integer); SELECT no_such_function();", encoding="utf-8"
    )
    from bot.store.postgres.schema import migrate

    conn = await asyncpg.connect(pg_url)
    try:
        with pytest.raises(DatabaseError, match=r"migration 0002_bad.sql failed: .*no_such"):
            await migrate(conn, "pg", broken)  # type: ignore[arg-type]
        assert await conn.fetchval(f"SELECT max(version) FROM {VERSION_TABLE}") == 1
        assert await conn.fetchval("SELECT to_regclass('two')") is None
    finally:
        await conn.close()


async def test_search_vectors_fold_case_and_accents_without_stemming(pg_url: str) -> None:
    async with await PgDatabase.open(pg_url, "pg", schema="migrate") as pg:
        async with pg.transaction() as conn:
            await conn.execute(
                "INSERT INTO articles (url, title, excerpt, published_at, type, "
                "source_published, postable, provider_name, topics_text, content_hash, "
                "ingested_at, updated_at) VALUES ('u', 'Café Ökonomie Running', 'the models', "
                "'t', 'news', 0, 1, 'Reuters', 'AI Ethics', 'h', 't', 't')"
            )
        rows = await pg.fetch("SELECT search::text, title_search::text FROM articles")
    search, titles = rows[0]
    assert search == (
        "'ai':4B 'cafe':1A 'ethics':5B 'models':8 'okonomie':2A 'reuters':6C 'running':3A 'the':7"
    )
    assert titles == "'cafe':1 'okonomie':2 'running':3"


# --------------------------------------------------------------------------- connecting


def refused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://newsdesk:s3cret-pw@127.0.0.1:{port}/newsdesk",
            "cannot connect: connection refused (is PostgreSQL running there, on that port?)",
        ),
        ("postgresql://newsdesk:s3cret-pw@no-such-host.invalid/newsdesk", "unknown host"),
        ("postgresql://newsdesk:s3cret-pw@127.0.0.1:99999/newsdesk", "not a usable URL"),
    ],
)
async def test_a_database_that_cannot_be_reached_is_one_line_without_the_password(
    url: str, expected: str
) -> None:
    url = url.format(port=refused_port())
    with pytest.raises(DatabaseError) as caught:
        await PgDatabase.open(url, "postgresql://newsdesk:***@db/newsdesk", ["s3cret-pw"])
    message = str(caught.value)
    assert message.startswith("database postgresql://newsdesk:***@db/newsdesk: ")
    assert expected in message
    assert "s3cret-pw" not in message
    assert "\n" not in message


async def test_a_database_that_does_not_exist_says_how_to_create_it(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(DatabaseError, match=r'"no_such_database" does not exist \(create it'):
        await PgDatabase.open(missing, "pg")


async def _cut_connections(pg_url: str) -> int:
    """What a server restart does to a pool: every backend of the database ends."""
    admin = await asyncpg.connect(pg_url)
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await admin.close()


async def test_the_pool_reconnects_after_its_connections_were_cut(pg_url: str) -> None:
    async with await PgDatabase.open(pg_url, "pg", schema="migrate") as pg:
        await pg.execute("INSERT INTO app_state (key, value) VALUES ('before', '1')")
        assert await _cut_connections(pg_url) >= 1
        await asyncio.sleep(0.1)  # the pool notices the closed sockets
        assert await pg.fetch_value("SELECT count(*) FROM app_state") == 1
        await pg.execute("INSERT INTO app_state (key, value) VALUES ('after', '1')")
        assert await pg.fetch_value("SELECT count(*) FROM app_state") == 2


async def test_a_unit_cut_off_midway_fails_in_one_line_and_writes_nothing(pg_url: str) -> None:
    async with await PgDatabase.open(pg_url, "pg", schema="migrate") as pg:

        async def cut_midway() -> None:
            async with pg.transaction() as tx:
                await tx.execute("INSERT INTO app_state (key, value) VALUES ('lost', '1')")
                await _cut_connections(pg_url)
                await tx.execute("INSERT INTO app_state (key, value) VALUES ('never', '1')")

        with pytest.raises(DatabaseError) as failed:
            await cut_midway()
        assert str(failed.value) == (
            "database pg: cannot write it: the connection to the server was lost (was "
            "PostgreSQL restarted or stopped?); the next attempt connects again"
        )
        await pg.execute("INSERT INTO app_state (key, value) VALUES ('next', '1')")
        rows = await pg.fetch("SELECT key FROM app_state ORDER BY key")
        assert [r[0] for r in rows] == ["next"]


async def test_a_value_the_column_cannot_take_is_named_as_such(pg_url: str) -> None:
    async with await PgDatabase.open(pg_url, "pg", schema="migrate") as pg:
        with pytest.raises(DatabaseError, match=r"^database pg: cannot use it: invalid inp") as bad:
            await pg.fetch("SELECT count(*) FROM subscriptions WHERE id = ?", ("seven",))
    assert "URL" not in str(bad.value)
