"""PostgreSQL's schema: its own numbered migrations (``migrations/``), the version in a table.

Several processes may share one database, so migrating takes an advisory lock and reads the
version again under it: a second ``newsdesk migrate`` started meanwhile waits, then finds
nothing left to do. Each migration commits together with its version.
"""

from __future__ import annotations

import logging
from importlib import resources
from importlib.abc import Traversable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.errors import DatabaseError
from bot.store import schema as both  # the rules both backends' schemas follow

log = logging.getLogger(__name__)

MIGRATIONS: Traversable = resources.files("bot.store.postgres") / "migrations"
VERSION_TABLE = "newsdesk_schema"  # not a table of the store: copy-db and the contract skip it
_MIGRATE_LOCK = 0x6E657773  # the advisory lock's key ("news")

Connection = asyncpg.Connection | PoolConnectionProxy  # a connection, or one lent by a pool


async def schema_version(conn: Connection) -> int:
    """The schema's version; 0 for a database Newsdesk has not written."""
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", VERSION_TABLE)
    if not exists:
        return 0
    version = await conn.fetchval(f"SELECT max(version) FROM {VERSION_TABLE}")  # noqa: S608
    return int(version or 0)


def latest_version(directory: Traversable = MIGRATIONS) -> int:
    return len(both.migration_files(directory))


async def migrate(conn: Connection, display: str, directory: Traversable = MIGRATIONS) -> int:
    """Bring the schema up to the newest migration; return the version reached."""
    files = both.migration_files(directory)
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATE_LOCK)
            current = await schema_version(conn)
            if current > len(files):
                raise DatabaseError(both.newer_message(display, current, len(files)))
            if current == len(files):
                return current
            version, f = files[current]
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version integer NOT NULL)"
            )
            try:
                await conn.execute(f.read_text(encoding="utf-8"))
            except asyncpg.PostgresError as exc:
                raise DatabaseError(f"migration {f.name} failed: {exc}") from None
            await conn.execute(
                f"INSERT INTO {VERSION_TABLE} (version) VALUES ($1)",  # noqa: S608
                version,
            )
        log.info("applied PostgreSQL migration %s", f.name)


def require_current(display: str, current: int, directory: Traversable = MIGRATIONS) -> None:
    """What ``newsdesk run`` needs on PostgreSQL: exactly this Newsdesk's schema. It never
    migrates there, so that several processes never race to."""
    both.require_current(display, current, directory, hint=" (once, from one process)")
