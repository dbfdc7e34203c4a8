"""The SQLite database: connections, the one-writer discipline, and migrations.

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
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import DatabaseError
from bot.store.times import utcnow

log = logging.getLogger(__name__)

MIGRATIONS: Traversable = resources.files("bot.store") / "migrations"
BUSY_TIMEOUT_MS = 5000


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
        raise DatabaseError(_newer(None, current, len(files)))
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


def _newer(path: Path | None, current: int, latest: int) -> str:
    where = f"database {path}: " if path else "the database is at "
    return (
        f"{where}schema version {current}, but this Newsdesk only knows versions up to "
        f"{latest}: it was written by a newer Newsdesk. Upgrade Newsdesk, or restore a backup "
        "taken before the upgrade."
    )


def _reason(exc: sqlite3.Error, path: Path) -> str:
    """SQLite's reason, with what to do about the common ones."""
    text = str(exc)
    if "unable to open database file" in text:
        return f"{text} (is {path.parent} readable and writable?)"
    if "file is not a database" in text:
        return f"{text} (database.path points at some other file)"
    return text


def readonly_uri(path: Path, *, immutable: bool) -> str:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def _make_directory(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DatabaseError(
            f"database {path}: cannot create its directory {path.parent}: a file of that name "
            "is in the way"
        ) from None
    except OSError as exc:
        raise DatabaseError(
            f"database {path}: cannot create its directory {path.parent}: {exc.strerror or exc}"
        ) from None


def _read_only_place(path: Path) -> bool:
    """Whether the database exists but cannot be written where it is; DatabaseError if absent."""
    if not path.is_file():
        raise DatabaseError(
            f"database {path}: no such database (check database.path; `newsdesk migrate` "
            "creates it)"
        )
    return not (os.access(path.parent, os.W_OK) and os.access(path, os.W_OK))


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection that only reads (``immutable`` where it cannot be written)."""
    timeout = BUSY_TIMEOUT_MS / 1000
    immutable = _read_only_place(path)
    if not immutable:
        conn = sqlite3.connect(readonly_uri(path, immutable=False), uri=True, timeout=timeout)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master")
            return conn
        except sqlite3.OperationalError:
            conn.close()
    return sqlite3.connect(readonly_uri(path, immutable=True), uri=True, timeout=timeout)


async def _connect_readonly(path: Path, *, immutable: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(readonly_uri(path, immutable=immutable), uri=True)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA query_only = ON")
        await conn.execute("SELECT count(*) FROM sqlite_master")  # fails now, not later
    except BaseException:
        await conn.close()
        raise
    if immutable and _has_wal_content(path):
        log.warning(
            "database %s has a write-ahead log that cannot be read without write access: "
            "what was written since its last checkpoint is not shown",
            path,
        )
    return conn


def _has_wal_content(path: Path) -> bool:
    try:
        return os.path.getsize(f"{path}-wal") > 0
    except OSError:
        return False


async def _connect(path: Path, *, readonly: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        if readonly:
            await conn.execute("PRAGMA query_only = ON")
        else:
            async with conn.execute("PRAGMA journal_mode = WAL") as cur:
                row = await cur.fetchone()
            if row is None or str(row[0]).lower() != "wal":
                log.warning("could not switch %s to WAL mode (got %s)", path, row and row[0])
            await conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        await conn.close()
        raise
    return conn


def backup_database(source: Path, target: Path) -> None:
    """A consistent copy of a live database with SQLite's online backup API.

    The copy is made in one backup step, inside one read transaction: in WAL mode the bot keeps
    writing meanwhile, and the copy is the database as it was at the start. It is written to a
    temporary file and renamed into place, so ``target`` is never half a copy.
    """
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    src = connect_readonly(source)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            check = dst.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise DatabaseError(f"the copy failed its integrity check: {check}")
        finally:
            dst.close()
    finally:
        src.close()
    partial.replace(target)


async def _to_completion(operation: Awaitable[Any]) -> Any:
    """Await ``operation`` to its end even if this task is cancelled meanwhile; then re-raise."""
    future = asyncio.ensure_future(operation)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if not future.done():
            with contextlib.suppress(BaseException):
                await future
        raise


class Database:
    """One writer and one reader connection, and the lock that makes writes atomic units."""

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
        _make_directory(path)
        try:
            writer = await _connect(path, readonly=False)
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {path}: cannot open it: {_reason(exc, path)}") from None
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
            reader = await _connect(path, readonly=True)
        except sqlite3.Error as exc:
            await writer.close()
            raise DatabaseError(f"database {path}: cannot use it: {_reason(exc, path)}") from None
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
        immutable = _read_only_place(path)
        try:
            reader = await _connect_readonly(path, immutable=immutable)
        except sqlite3.Error as exc:
            if immutable:
                raise DatabaseError(
                    f"database {path}: cannot read it: {_reason(exc, path)}"
                ) from None
            reader = None
        if reader is None:  # a read-only file system os.access did not see, for example
            try:
                reader = await _connect_readonly(path, immutable=True)
            except sqlite3.Error as exc:
                raise DatabaseError(
                    f"database {path}: cannot read it: {_reason(exc, path)}"
                ) from None
        try:
            current = await schema_version(reader)
            latest = len(migration_files(migrations))
        except sqlite3.Error as exc:
            await reader.close()
            raise DatabaseError(f"database {path}: cannot read it: {_reason(exc, path)}") from None
        except BaseException:
            await reader.close()
            raise
        if current != latest:
            await reader.close()
            if current > latest:
                raise DatabaseError(_newer(path, current, latest))
            raise DatabaseError(
                f"database {path}: schema version {current}, this Newsdesk reads version "
                f"{latest}: run `newsdesk migrate` first"
            )
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
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic write unit: ``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on error.

        Cancellation-safe: a cancelled task still waits (holding the lock) until its COMMIT or
        ROLLBACK has run on the connection's thread, so the next unit never starts inside it.
        """
        async with self._lock:
            conn = self.writer
            try:
                await _to_completion(conn.execute("BEGIN IMMEDIATE"))
                yield conn
            except BaseException:
                # sqlite3's rollback() is a no-op outside a transaction; queued after anything
                # the cancelled body left on the thread, it undoes all of it.
                await _to_completion(conn.rollback())
                raise
            else:
                await _to_completion(conn.commit())

    async def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """Run one query on the reader connection; one thread hop."""
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = await self._reader.execute_fetchall(sql, params)
        for row in rows:
            return row
        return None

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        """A single-statement write in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, params)

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
