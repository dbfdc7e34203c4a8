"""``newsdesk copy-db``: a whole store from one database to another, SQLite or PostgreSQL
either way, every id kept (posted messages carry article ids in their buttons).

The source is read inside one read transaction (SQLite's WAL, PostgreSQL's REPEATABLE READ),
so the copy is the store as it was at one moment even while the bot goes on writing. The
target is written in one transaction, after checking that it holds nothing: a copy that fails
half way leaves it as empty as it was. The tables go in an order where every row a foreign
key points at is already there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from bot.errors import CommandFailed, DatabaseError

log = logging.getLogger(__name__)

# Every table of the store, referenced tables first. tests/store/test_schemas.py checks that
# this is every table of both schemas (a table left out here would be lost by a copy).
TABLES: tuple[str, ...] = (
    "articles",
    "topics",
    "article_topics",
    "related",
    "article_guilds",
    "source_files",
    "guild_settings",
    "subscriptions",
    "subscription_leases",  # copied: a claim's generation only ever grows
    "deliveries",
    "moderator_actions",
    "app_state",
    "sources",
    "feed_items",
)
BATCH = 5000

Row = tuple[Any, ...]


class Source(Protocol):
    """A database being read, inside one snapshot."""

    display: str

    async def columns(self, table: str) -> list[str]: ...

    def rows(self, table: str, columns: Sequence[str]) -> AsyncGenerator[list[Row], None]: ...


class Target(Protocol):
    """A database being written, inside one transaction."""

    display: str

    async def columns(self, table: str) -> list[str]: ...

    async def occupied(self) -> list[str]: ...

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None: ...

    async def finish(self) -> None: ...


@dataclass(frozen=True)
class Copied:
    counts: dict[str, int]
    seconds: float


async def copy_store(source: Source, target: Target) -> Copied:
    """Copy every table; DatabaseError (nothing written) if the target holds anything or its
    schema is not the source's, CommandFailed if a row cannot be written there."""
    async with _blame(target.display, "read"):
        occupied = await target.occupied()
    if occupied:
        raise DatabaseError(
            f"copy-db: {target.display} is not empty (it has {', '.join(occupied)}); copy into "
            "a new database"
        )
    started = time.monotonic()
    counts: dict[str, int] = {}
    for table in TABLES:
        async with _blame(source.display, "read"):
            columns = await source.columns(table)
        async with _blame(target.display, "read"):
            theirs = await target.columns(table)
        if set(columns) != set(theirs):
            raise DatabaseError(
                f"copy-db: table {table} has columns {sorted(set(columns) ^ set(theirs))} in "
                f"only one of {source.display} and {target.display}: are both at this "
                "Newsdesk's schema (`newsdesk migrate`)?"
            )
        counts[table] = 0
        async with aclosing(source.rows(table, columns)) as batches:
            while True:
                async with _blame(source.display, f"read table {table} of"):
                    rows = await anext(batches, None)
                if rows is None:
                    break
                async with _blame(
                    target.display, f"write table {table} (a row after {counts[table]}) to"
                ):
                    await target.write(table, columns, rows)
                counts[table] += len(rows)
        log.info("copied %d rows of %s", counts[table], table)
    async with _blame(target.display, "finish"):
        await target.finish()
    return Copied(counts, time.monotonic() - started)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())  # PostgreSQL's DETAIL comes on a line of its own


@asynccontextmanager
async def _blame(display: str, doing: str) -> AsyncIterator[None]:
    """A failure of one database, said in one line that names it: the target's transaction
    is rolled back, so nothing was copied."""
    try:
        yield
    except (DatabaseError, CommandFailed):
        raise
    except Exception as exc:
        raise CommandFailed(
            f"copy-db: cannot {doing} {display}: {_one_line(exc)}; nothing was copied (the "
            "target is as it was)"
        ) from None


# SQLite ------------------------------------------------------------------------------------


class SqliteSource:
    """An SQLite store opened read-only; ``snapshot()`` holds one read transaction."""

    _conn: aiosqlite.Connection

    def __init__(self, path: Path) -> None:
        self.display = str(path)
        self._path = path

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[SqliteSource]:
        from bot.store.db import Database

        db = await Database.open_readonly(self._path)
        try:
            self._conn = db.reader
            await self._conn.execute("BEGIN")
            # The snapshot starts at the first read, not at BEGIN: read now.
            await self._conn.execute_fetchall("SELECT count(*) FROM sqlite_master")
            yield self
            await self._conn.execute("COMMIT")
        finally:
            await db.close()

    async def columns(self, table: str) -> list[str]:
        return await _sqlite_columns(self._conn, table)

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncGenerator[list[Row], None]:
        names = ", ".join(columns)
        async with self._conn.execute(f"SELECT {names} FROM {table} ORDER BY 1") as cur:  # noqa: S608
            while batch := await cur.fetchmany(BATCH):
                yield [tuple(row) for row in batch]


class SqliteTarget:
    """An SQLite store written in one transaction: a new file appears only when complete."""

    _conn: aiosqlite.Connection

    def __init__(self, path: Path) -> None:
        self.display = str(path)
        self._path = path

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqliteTarget]:
        from bot.store.db import Database

        fresh = not self._path.exists()
        where = self._path.with_name(f".{self._path.name}.partial") if fresh else self._path
        if fresh:
            _remove(where)  # what an interrupted copy left
        db = await Database.open(where)
        try:
            async with db.transaction():
                self._conn = db.writer  # the raw connection, inside the write unit
                yield self
        except BaseException:
            await db.close()
            if fresh:
                _remove(where)
            raise
        await db.close()
        if fresh:
            try:
                where.replace(self._path)
            except OSError as exc:
                _remove(where)
                raise DatabaseError(
                    f"copy-db: cannot create {self._path}: {exc.strerror}"
                ) from None

    async def columns(self, table: str) -> list[str]:
        return await _sqlite_columns(self._conn, table)

    async def occupied(self) -> list[str]:
        found = []
        for table in TABLES:
            rows = await self._conn.execute_fetchall(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
            if list(rows):
                found.append(table)
        return found

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        await self._conn.executemany(sql, rows)

    async def finish(self) -> None:
        pass  # INTEGER PRIMARY KEY ids go on from the largest one by themselves


def _remove(path: Path) -> None:
    """An SQLite file and the two files it may have beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"copy-db: cannot remove {path.name + suffix} (left by a copy): {exc.strerror}"
            ) from None


async def _sqlite_columns(conn: aiosqlite.Connection, table: str) -> list[str]:
    rows = await conn.execute_fetchall(f"PRAGMA table_info({table})")
    if not rows:
        raise DatabaseError(f"copy-db: no table {table}: is this a Newsdesk database?")
    return [str(row[1]) for row in rows]
