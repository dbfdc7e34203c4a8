"""The schema: numbered migration files, and the version the database is at.

The version lives in ``PRAGMA user_version``; each migration runs in one transaction with its
version bump, so a failing migration leaves the database at the previous version.
"""

from __future__ import annotations

import logging
import sqlite3
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import aiosqlite

from bot.errors import DatabaseError

log = logging.getLogger(__name__)

MIGRATIONS: Traversable = resources.files("bot.store") / "migrations"


def migration_files(directory: Traversable = MIGRATIONS) -> list[tuple[int, Traversable]]:
    files = sorted(
        (f for f in directory.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name
    )
    numbered: list[tuple[int, Traversable]] = []
    for f in files:
        head = f.name.split("_", 1)[0]
        if not head.isdigit():
            raise DatabaseError(f"migration {f.name} does not start with its number")
        numbered.append((int(head), f))
    if [n for n, _ in numbered] != list(range(1, len(numbered) + 1)):
        raise DatabaseError(
            "migrations must be numbered 1..N without gaps: " + ", ".join(f.name for f in files)
        )
    return numbered


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, directory: Traversable = MIGRATIONS) -> int:
    """Bring the schema up to the newest migration; return the version reached.

    Each migration runs in its own transaction together with the ``user_version`` bump, so a
    failing migration leaves the database at the previous version.
    """
    files = migration_files(directory)
    current = await schema_version(conn)
    if current > len(files):
        raise DatabaseError(newer_message(None, current, len(files)))
    for version, f in files:
        if version <= current:
            continue
        script = f.read_text(encoding="utf-8")
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise DatabaseError(f"migration {f.name} failed: {exc}") from exc
        log.info("applied migration %s", f.name)
    return len(files)


def require_current(
    path: Path | str, current: int, directory: Traversable = MIGRATIONS, *, hint: str = ""
) -> None:
    """What a command that reads without migrating needs: exactly this Newsdesk's schema
    (SQLite's or, with PostgreSQL's migrations as ``directory``, PostgreSQL's)."""
    latest = len(migration_files(directory))
    if current > latest:
        raise DatabaseError(newer_message(path, current, latest))
    if current < latest:
        raise DatabaseError(
            f"database {path}: schema version {current}, this Newsdesk reads version "
            f"{latest}: run `newsdesk migrate` first{hint}"
        )


def newer_message(path: Path | str | None, current: int, latest: int) -> str:
    where = f"database {path}: " if path else "the database is at "
    return (
        f"{where}schema version {current}, but this Newsdesk only knows versions up to "
        f"{latest}: it was written by a newer Newsdesk. Upgrade Newsdesk, or restore a backup "
        "taken before the upgrade."
    )
