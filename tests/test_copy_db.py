"""`newsdesk copy-db`: SQLite -> PostgreSQL -> SQLite loses nothing and keeps every id; a
target that holds anything is refused; a copy that fails leaves the target empty; the copy
is one snapshot. And the PostgreSQL side of `migrate`, `backup` and the commands not there yet.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
import pytest

from bot.store.copy import TABLES, SqliteSource, SqliteTarget, copy_store
from bot.store.db import Database
from bot.store.postgres.schema import latest_version
from tests.conftest import SAMPLES
from tests.test_cli import newsdesk
from tests.test_cli_exits import assert_one_line

BIG = 1_234_567_890_123_456_789  # a Discord snowflake's size
T1, T2 = "2026-01-02T03:04:05.000000Z", "2026-01-02T03:04:06.500000Z"


def fill(path: Path) -> None:
    """Besides the ingested samples, a row in every table, with awkward values."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        ids = [row[0] for row in conn.execute("SELECT id FROM articles ORDER BY id LIMIT 3")]
        conn.execute("DELETE FROM articles WHERE id = ?", (ids[1],))  # a gap in the ids
        conn.execute(
            "UPDATE articles SET restricted = 1, scope = 'r g111', quality = 72.5, "
            "title = 'Quote '' \"and\" ünïcödé 🎉' WHERE id = ?",
            (ids[0],),
        )
        conn.execute("INSERT INTO article_guilds VALUES (?, 111)", (ids[0],))
        conn.execute(
            "INSERT INTO guild_settings VALUES (?, 0, ?, '[1, 2]', '2026-01-01T00:00:00.000000Z')",
            (BIG, BIG + 1),
        )
        conn.execute(
            "INSERT INTO subscriptions (id, channel_id, guild_id, origin, topics_json, "
            "exclude_topics_json, min_quality, max_per_run, interval_seconds, timezone, "
            "types_json, exclude_types_json, providers_json, exclude_providers_json, "
            "created_at, updated_at, keywords_json) VALUES (7, ?, ?, 'command', '[\"AI\"]', "
            "'[]', 60, 3, 1800, 'Europe/Berlin', '[]', '[]', '[]', '[]', 't', 't', "
            "'[\"rust\"]')",
            (BIG + 2, BIG),
        )
        conn.execute(
            "INSERT INTO deliveries (channel_id, article_id, subscription_id, guild_id, state, "
            "nonce, intent_at, last_attempt_at, message_id, sent_at, thread_state) VALUES "
            "(?, ?, 7, ?, 'sent', 'nonce-1', ?, ?, ?, ?, 'owed')",
            (BIG + 2, ids[0], BIG, T1, T2, BIG + 3, T2),
        )
        conn.execute(
            "INSERT INTO deliveries (channel_id, article_id, state, nonce, intent_at, "
            "last_attempt_at, error) VALUES (?, ?, 'pending', 'nonce-2', ?, ?, 'line\nbreak')",
            (BIG + 2, ids[2], T1, T1),
        )
        conn.execute(
            "INSERT INTO moderator_actions (guild_id, user_id, action, at) VALUES "
            "(?, 5, 'publishing off #news', 't')",
            (BIG,),
        )
        conn.execute(
            "INSERT INTO sources (id, key, kind, guild_id, url, quality, failures) VALUES "
            "(40, 'feed:https://example.com/feed', 'feed', ?, 'https://example.com/feed', 55, 2)",
            (BIG,),
        )
        conn.execute("INSERT INTO feed_items VALUES (40, 'guid-1', 'https://example.com/a', 't')")
    conn.close()


def table_rows(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        rows = {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in TABLES
        }
    conn.close()
    return rows


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLES, tmp_path / "news")
    (tmp_path / "config.yaml").write_text("database:\n  path: a.db\n", encoding="utf-8")
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    fill(tmp_path / "a.db")
    return tmp_path


def restore_listing(dump: Path) -> str:
    return subprocess.run(
        ["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True
    ).stdout


def pg_config(workdir: Path, url: str) -> str:
    (workdir / "pg.yaml").write_text(f"database:\n  url: {url}\n", encoding="utf-8")
    return "pg.yaml"


async def count(url: str, table: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


async def test_sqlite_to_postgresql_and_back_loses_nothing_and_keeps_every_id(
    stored: Path, pg_url: str
) -> None:
    there = newsdesk("copy-db", "--to", pg_url, "--config", "config.yaml", cwd=stored)
    assert there.returncode == 0, there.stderr
    assert there.stdout.startswith("copied a.db to postgresql://")
    assert " 58 articles, 2 deliveries, 1 subscriptions, 1 sources, " in there.stdout
    back = newsdesk("copy-db", "--to", "b.db", "--config", pg_config(stored, pg_url), cwd=stored)
    assert back.returncode == 0, back.stderr
    assert table_rows(stored / "a.db") == table_rows(stored / "b.db")
    exports = []
    for db in ("a.db", "b.db"):
        (stored / f"{db}.yaml").write_text(f"database:\n  path: {db}\n", encoding="utf-8")
        done = newsdesk(
            "export", "--deliveries", f"{db}.jsonl", "--config", f"{db}.yaml", cwd=stored
        )
        assert done.returncode == 0, done.stderr
        exports.append((done.stdout, (stored / f"{db}.jsonl").read_text(encoding="utf-8")))
    assert exports[0] == exports[1]
    assert exports[0][1].count("\n") == 2
    # Each identity goes on past the ids copied: the next article is a new one.
    conn = await asyncpg.connect(pg_url)
    try:
        largest = await conn.fetchval("SELECT max(id) FROM articles")
        new = await conn.fetchval(
            "INSERT INTO articles (url, title, published_at, type, source_published, postable, "
            "topics_text, content_hash, ingested_at, updated_at) VALUES "
            "('new', 't', 't', 'news', 0, 1, '', 'h', 't', 't') RETURNING id"
        )
        assert new == largest + 1
        subscription = await conn.fetchval(
            "INSERT INTO subscriptions (channel_id, origin, topics_json, exclude_topics_json, "
            "min_quality, max_per_run, timezone, types_json, exclude_types_json, providers_json, "
            "exclude_providers_json, created_at, updated_at) VALUES (1, 'command', '[]', '[]', "
            "0, 1, 'UTC', '[]', '[]', '[]', '[]', 't', 't') RETURNING id"
        )
        assert subscription == 8
    finally:
        await conn.close()


async def test_a_target_that_holds_anything_is_refused_and_left_as_it_was(
    stored: Path, pg_url: str
) -> None:
    assert (
        newsdesk("copy-db", "--to", pg_url, "--config", "config.yaml", cwd=stored).returncode == 0
    )
    again = newsdesk("copy-db", "--to", pg_url, "--config", "config.yaml", cwd=stored)
    assert again.returncode == 2
    shown = pg_url.split("@", 1)[1]
    assert_one_line(
        again.stderr,
        f"newsdesk: copy-db: postgresql://newsdesk@{shown} is not empty (it has articles, topics, "
        "article_topics, related, article_guilds, source_files, guild_settings, subscriptions, "
        "deliveries, moderator_actions, app_state, sources, feed_items); copy into a new "
        "database",
    )
    assert await count(pg_url, "articles") == 58
    # an SQLite file: the same
    shutil.copy(stored / "a.db", stored / "full.db")
    refused = newsdesk("copy-db", "--to", "full.db", "--config", "config.yaml", cwd=stored)
    assert refused.returncode == 2
    assert "copy-db: full.db is not empty" in refused.stderr
    # the configured database itself, or a folder: refused before anything is opened
    for to, line in [
        ("a.db", "newsdesk: copy-db: a.db is the configured database itself"),
        ("news", "newsdesk: copy-db: news: expected a new SQLite file's path"),
        ("nowhere/x.db", "newsdesk: copy-db: nowhere/x.db: expected a new SQLite file's path"),
    ]:
        done = newsdesk("copy-db", "--to", to, "--config", "config.yaml", cwd=stored)
        assert done.returncode == 2
        assert_one_line(done.stderr, line)
    assert not list(stored.glob("nowhere*"))


async def test_a_database_with_tables_newsdesk_does_not_know_is_refused_untouched(
    stored: Path, pg_url: str
) -> None:
    conn = await asyncpg.connect(pg_url)
    await conn.execute("CREATE TABLE payroll (who text)")
    await conn.close()
    done = newsdesk("copy-db", "--to", pg_url, "--config", "config.yaml", cwd=stored)
    assert done.returncode == 2
    assert "it has tables Newsdesk does not know: payroll); copy into a new database" in (
        done.stderr
    )
    conn = await asyncpg.connect(pg_url)
    try:  # not even migrated
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert [row[0] for row in tables] == ["payroll"]
    finally:
        await conn.close()


async def test_a_password_typed_in_the_target_url_is_never_shown(stored: Path, pg_url: str) -> None:
    host = pg_url.split("@", 1)[1]
    done = newsdesk(
        "copy-db",
        "--to",
        f"postgresql://newsdesk:p/ss@w0rd@{host}?password=qsecret",
        "--config",
        "config.yaml",
        cwd=stored,
    )
    assert "p/ss@w0rd" not in done.stderr + done.stdout
    assert "qsecret" not in done.stderr + done.stdout
    assert done.returncode == 0, done.stderr  # trust authentication: any password will do
    assert done.stdout.startswith(f"copied a.db to postgresql://newsdesk:***@{host.split('?')[0]}")


async def test_an_empty_sqlite_file_made_by_migrate_can_be_the_target(stored: Path) -> None:
    (stored / "new.yaml").write_text("database:\n  path: new.db\n", encoding="utf-8")
    assert newsdesk("migrate", "--config", "new.yaml", cwd=stored).returncode == 0
    done = newsdesk("copy-db", "--to", "new.db", "--config", "config.yaml", cwd=stored)
    assert done.returncode == 0, done.stderr
    assert table_rows(stored / "a.db") == table_rows(stored / "new.db")


async def test_a_row_the_target_cannot_hold_fails_the_copy_and_leaves_the_target_empty(
    stored: Path, pg_url: str
) -> None:
    with sqlite3.connect(stored / "a.db") as conn:  # PostgreSQL's text cannot hold NUL
        conn.execute("UPDATE moderator_actions SET action = ?", ("nul\x00here",))
    conn.close()
    done = newsdesk("copy-db", "--to", pg_url, "--config", "config.yaml", cwd=stored)
    assert done.returncode == 1
    assert (
        "newsdesk: copy-db: cannot write table moderator_actions (a row after 0) to "
        "postgresql://newsdesk@"
    ) in done.stderr
    assert "nothing was copied (the target is as it was)" in done.stderr
    assert "Traceback" not in done.stderr
    for table in TABLES:
        assert await count(pg_url, table) == 0, table
    # and once the row is put right, the same target takes the copy
    with sqlite3.connect(stored / "a.db") as conn:
        conn.execute("UPDATE moderator_actions SET action = 'fixed'")
    conn.close()
    assert (
        newsdesk("copy-db", "--to", pg_url, "--config", "config.yaml", cwd=stored).returncode == 0
    )


async def test_the_copy_is_the_store_as_it_was_when_the_copy_began(stored: Path) -> None:
    source = SqliteSource(stored / "a.db")
    async with source.snapshot() as snapshot:
        writer = await Database.open(stored / "a.db")  # the running bot, say
        try:
            await writer.execute(
                "INSERT INTO moderator_actions (guild_id, user_id, action, at) "
                "VALUES (1, 2, 'later', 't')"
            )
            await writer.execute("DELETE FROM deliveries")
        finally:
            await writer.close()
        async with SqliteTarget(stored / "copy.db").writing() as target:
            copied = await copy_store(snapshot, target)
    assert copied.counts["moderator_actions"] == 1
    assert copied.counts["deliveries"] == 2
    assert not (stored / ".copy.db.partial").exists()
    with sqlite3.connect(stored / "copy.db") as conn:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (2,)
    conn.close()


# ------------------------------------------------------- the other commands on PostgreSQL


async def test_migrate_creates_the_schema_and_backup_runs_pg_dump(
    tmp_path: Path, pg_url: str
) -> None:
    config = pg_config(tmp_path, pg_url)
    done = newsdesk("migrate", "--config", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith(f": schema version {latest_version()}")
    backup = newsdesk("backup", "dump.pg", "--config", config, cwd=tmp_path)
    assert backup.returncode == 0, backup.stderr
    assert "with pg_dump (custom format: restore with pg_restore)" in backup.stdout
    listing = restore_listing(tmp_path / "dump.pg")
    assert "TABLE public articles" in listing
    again = newsdesk("backup", "dump.pg", "--config", config, cwd=tmp_path)
    assert again.returncode == 2
    assert_one_line(again.stderr, "newsdesk: dump.pg exists; choose a new file name")


def test_backup_without_pg_dump_says_what_to_run(tmp_path: Path) -> None:
    config = pg_config(tmp_path, "postgresql://newsdesk@db/newsdesk")
    bare = tmp_path / "bin"
    bare.mkdir()
    done = newsdesk("backup", "x.pg", "--config", config, cwd=tmp_path, env={"PATH": str(bare)})
    assert done.returncode == 2
    assert_one_line(
        done.stderr,
        "newsdesk: database postgresql://newsdesk@db/newsdesk: on PostgreSQL a backup is pg_dump's "
        "job, and it is not installed here: install PostgreSQL's client tools, or run `pg_dump "
        "--format=custom --file=x.pg <database URL>` where they are",
    )


@pytest.mark.parametrize("command", ["status", "export", "ingest", "run"])
def test_the_commands_not_yet_on_postgresql_say_so_in_one_line(
    tmp_path: Path, command: str
) -> None:
    config = pg_config(tmp_path, "postgresql://newsdesk:${PGPASS}@db/newsdesk")
    args = {"run": ["run", "--dry-run"], "ingest": ["ingest", "."]}.get(command, [command])
    done = newsdesk(*args, "--config", config, cwd=tmp_path, env={"PGPASS": "hunter2"})
    assert done.returncode == 2
    assert_one_line(
        done.stderr,
        f"newsdesk: database.url: `newsdesk {command}` works on SQLite only so far (PostgreSQL "
        "is there for `newsdesk migrate` and `newsdesk copy-db`); set database.path",
    )
    assert "hunter2" not in done.stderr + done.stdout


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = pg_config(tmp_path, f"postgresql://newsdesk:${{PGPASS}}@127.0.0.1:{port}/newsdesk")
    done = newsdesk("migrate", "--config", config, cwd=tmp_path, env={"PGPASS": "hunter2"})
    assert done.returncode == 2
    assert_one_line(
        done.stderr,
        f"newsdesk: database postgresql://newsdesk:***@127.0.0.1:{port}/newsdesk: cannot "
        "connect: connection refused (is PostgreSQL running there, on that port?)",
    )
    assert "hunter2" not in done.stderr + done.stdout
