"""Database chores and the health probe: ``migrate``, ``backup``, ``health``."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.cli.files import check_new_file
from bot.cli.pg_backup import pg_dump
from bot.cli.process import EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, say
from bot.settings import Settings
from bot.store.connections import backup_database, connect_readonly
from bot.store.db import Database
from bot.store.postgres.database import PgDatabase
from bot.store.schema import require_current, schema_version


async def migrate_command(settings: Settings) -> int:
    database = settings.database
    if database.dsn is not None:
        pg = await PgDatabase.open(
            database.dsn, database.display, database.secrets, schema="migrate"
        )
        try:
            version = await pg.schema_version()
        finally:
            await pg.close()
    else:
        db = await Database.open(database.sqlite("migrate"))
        try:
            version = await schema_version(db.writer)
        finally:
            await db.close()
    print(f"{database.display}: schema version {version}")
    return EXIT_OK


def backup_command(settings: Settings, target: Path) -> int:
    """A consistent copy of the database. Like every command that only reads, it neither
    migrates nor copies a schema other than this Newsdesk's (upgrading saves its own copy)."""
    if settings.database.dsn is not None:
        return pg_dump(settings.database, target)
    source = settings.database.sqlite("backup")
    require_current(source, _schema_version(source))
    check_new_file(target)
    started = time.monotonic()
    backup_database(source, target)
    version, articles, deliveries = _describe_database(target)
    print(
        f"backed up {source} to {target}: {target.stat().st_size / 1e6:.1f} MB, schema version "
        f"{version}, {articles} articles, {deliveries} deliveries "
        f"({time.monotonic() - started:.1f}s)"
    )
    return EXIT_OK


def _schema_version(path: Path) -> int:
    conn = connect_readonly(path)  # a missing or unreadable database: one line, exit 2
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _describe_database(path: Path) -> tuple[int, int, int]:
    """Count what a copy holds, reading it only (the copy is left exactly as written)."""
    conn = connect_readonly(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        deliveries = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    finally:
        conn.close()
    return int(version), int(articles), int(deliveries)


def health_url(settings: Settings) -> str:
    assert settings.http is not None
    host = settings.http.host
    if host in ("0.0.0.0", ""):  # noqa: S104 - listening everywhere: ask locally
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{settings.http.port}/healthz"


def health_command(settings: Settings) -> int:
    if settings.http is None:
        say("http: is not configured, so there is no health endpoint")
        return EXIT_UNUSABLE
    url = health_url(settings)
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http only
            print(response.read().decode())
            return EXIT_OK
    except urllib.error.HTTPError as exc:
        print(exc.read().decode())
        return EXIT_REJECTED
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            say(
                f"no bot answers on {url} (is `newsdesk run` running, with this config's "
                "http: section?)"
            )
        else:
            say(f"{url}: {exc.reason}")
        return EXIT_REJECTED
    except (OSError, ValueError) as exc:
        say(f"{url}: {exc}")
        return EXIT_REJECTED
