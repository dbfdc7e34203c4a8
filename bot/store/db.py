"""The SQLite database: its two connections and the one-writer discipline.

Two aiosqlite connections to one WAL database:

* the **writer** carries every write. Each write unit runs inside :meth:`Database.transaction`,
  which holds one ``asyncio.Lock`` (shared by every store) around ``BEGIN IMMEDIATE`` ...
  ``COMMIT``, so two coroutines can never commit each other's half-done work, and another
  process (a CLI ``ingest`` next to the running bot) waits on ``busy_timeout`` instead of failing;
* the **reader** answers queries. aiosqlite serialises all calls of one connection on its
  thread, so a long ingest on the writer never queues a slash command's read behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from bot.errors import DatabaseError
from bot.store.connections import (
    backup_database,
    connect,
    connect_reader,
    make_directory,
    only_unwritable,
    read_only_place,
    reason,
)
from bot.store.schema import (
    MIGRATIONS,
    migrate,
    migration_files,
    require_current,
    schema_version,
)
from bot.store.sql import Params, Queries, Row, UniqueViolation, to_completion
from bot.store.times import utcnow

log = logging.getLogger(__name__)


class SqliteUniqueViolation(UniqueViolation, sqlite3.IntegrityError):
    """Still an IntegrityError: what handles SQLite's errors (ingest's one-by-one fallback,
    the CLI's one line) goes on handling it."""


@contextlib.contextmanager
def _unique_violations() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "UNIQUE constraint" in str(exc):
            raise SqliteUniqueViolation(str(exc)) from None
        raise


class SqliteTx:
    """The store contract's :class:`~bot.store.sql.Tx` on an aiosqlite connection."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        with _unique_violations():
            cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _unique_violations():
            await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        with _unique_violations():  # INSERT ... RETURNING
            return list(await self._conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        for row in await self.fetch(sql, params):
            return row
        return None

    async def lock(self, name: str) -> None:
        pass  # BEGIN IMMEDIATE: a write unit holds the database's one write lock already


class Database(Queries):
    """One writer and one reader connection, and the lock that makes writes atomic units."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(
        self, path: Path, writer: aiosqlite.Connection | None, reader: aiosqlite.Connection
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        migrate_schema: bool = True,
        migrations: Traversable = MIGRATIONS,
    ) -> Database:
        """Open (creating if needed) and migrate the database at ``path``.

        A database written by an older Newsdesk is copied (``<name>.v<N>-<time>.bak``) before
        it is migrated; one written by a newer Newsdesk is refused with a clear message.
        """
        make_directory(path)
        try:
            writer = await connect(path, readonly=False)
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {path}: cannot open it: {reason(exc, path)}") from None
        try:
            if migrate_schema:
                current = await schema_version(writer)
                latest = len(migration_files(migrations))
                if 0 < current < latest:
                    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
                    copy = path.with_name(f"{path.name}.v{current}-{stamp}.bak")
                    await asyncio.to_thread(backup_database, path, copy)
                    log.warning(
                        "database %s is at schema version %d; a copy was saved as %s before "
                        "migrating to version %d",
                        path,
                        current,
                        copy,
                        latest,
                    )
                await migrate(writer, migrations)
            reader = await connect(path, readonly=True)
        except sqlite3.Error as exc:
            await writer.close()
            raise DatabaseError(f"database {path}: cannot use it: {reason(exc, path)}") from None
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    @classmethod
    async def open_readonly(cls, path: Path, migrations: Traversable = MIGRATIONS) -> Database:
        """Open an existing database only to read it: never created, never migrated, never
        written, so it works on a read-only mount or a backup copy.

        A database whose directory (or file) cannot be written is opened ``immutable``: SQLite
        then needs no ``-shm`` file, which a WAL database otherwise needs even for reading.
        """
        immutable = read_only_place(path)
        try:
            reader = await connect_reader(path, immutable=immutable)
        except sqlite3.Error as exc:
            if immutable or not only_unwritable(exc):
                raise DatabaseError(
                    f"database {path}: cannot read it: {reason(exc, path)}"
                ) from None
            reader = None
        if reader is None:  # a read-only file system os.access did not see, for example
            try:
                reader = await connect_reader(path, immutable=True)
            except sqlite3.Error as exc:
                raise DatabaseError(
                    f"database {path}: cannot read it: {reason(exc, path)}"
                ) from None
        try:
            require_current(path, await schema_version(reader), migrations)
        except sqlite3.Error as exc:
            await reader.close()
            raise DatabaseError(f"database {path}: cannot read it: {reason(exc, path)}") from None
        except BaseException:
            await reader.close()
            raise
        return cls(path, None, reader)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._writer is not None:
                async with self._lock:
                    await self._optimize(self._writer)
                    await self._writer.close()
        finally:
            await self._reader.close()

    @staticmethod
    async def _optimize(writer: aiosqlite.Connection) -> None:
        """Refresh planner statistics where they are stale; bounded, so that closing a
        million-article store stays quick (Docker allows a stop 10 seconds)."""
        try:
            await writer.execute("PRAGMA analysis_limit = 400")
            await writer.execute("PRAGMA optimize")
        except sqlite3.Error:
            log.debug("PRAGMA optimize failed", exc_info=True)

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        """One atomic write unit: ``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on error.

        Cancellation-safe: a cancelled task still waits (holding the lock) until its COMMIT or
        ROLLBACK has run on the connection's thread, so the next unit never starts inside it.
        """
        async with self._lock:
            conn = self.writer
            try:
                await to_completion(conn.execute("BEGIN IMMEDIATE"))
                yield SqliteTx(conn)
            except BaseException:
                # sqlite3's rollback() is a no-op outside a transaction; queued after anything
                # the cancelled body left on the thread, it undoes all of it.
                await to_completion(conn.rollback())
                raise
            else:
                await to_completion(conn.commit())

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one query on the reader connection; one thread hop."""
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._reader.execute_fetchall(sql, params)
        for row in rows:
            return row
        return None

    async def check_writable(self) -> None:
        """Raise if a write transaction cannot be started (for the health check).

        An empty write unit: cancellation-safe like every other (a health check that times out
        never leaves the connection inside a transaction).
        """
        async with self.transaction():
            pass

    @property
    def writer(self) -> aiosqlite.Connection:
        """The writer connection, for code that must run outside a transaction (backup)."""
        if self._writer is None:
            raise DatabaseError(f"database {self.path} was opened read-only")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        return self._reader
