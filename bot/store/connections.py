"""Opening SQLite files: the writer and reader connections, read-only opening (immutable where
the file cannot be written), a directory that cannot be made, consistent backups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from pathlib import Path

import aiosqlite

from bot.domain.keywords import sql_match
from bot.errors import DatabaseError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def reason(exc: sqlite3.Error, path: Path) -> str:
    """SQLite's reason, with what to do about the common ones."""
    text = str(exc)
    if "unable to open database file" in text:
        return f"{text} (is {path.parent} readable and writable?)"
    if "file is not a database" in text:
        return f"{text} (database.path points at some other file)"
    if "locked" in text:
        return f"{text} (another process is writing it; try again once it is done)"
    return text


def readonly_uri(path: Path, *, immutable: bool) -> str:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def make_directory(path: Path) -> None:
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


def read_only_place(path: Path) -> bool:
    """Whether the database exists but cannot be written where it is; DatabaseError if absent."""
    if not path.is_file():
        raise DatabaseError(
            f"database {path}: no such database (check database.path; `newsdesk migrate` "
            "creates it)"
        )
    return not (os.access(path.parent, os.W_OK) and os.access(path, os.W_OK))


def only_unwritable(exc: sqlite3.Error) -> bool:
    """Whether opening a database to read failed only because SQLite could not create the
    files it shares with writers (a read-only file system that os.access did not see): then
    it is read ``immutable``. Any other failure (locked, damaged) is reported as it is: an
    immutable read of a database someone is writing could return torn pages."""
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY"))


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection that only reads (``immutable`` where it cannot be written)."""
    timeout = BUSY_TIMEOUT_MS / 1000
    immutable = read_only_place(path)
    if not immutable:
        conn = sqlite3.connect(readonly_uri(path, immutable=False), uri=True, timeout=timeout)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master")
            return conn
        except sqlite3.Error as exc:
            conn.close()
            if not only_unwritable(exc):
                raise
    return sqlite3.connect(readonly_uri(path, immutable=True), uri=True, timeout=timeout)


async def _opened(connection: aiosqlite.Connection) -> aiosqlite.Connection:
    """Open a connection; if this task is cancelled meanwhile, let the opening finish, then
    close it. (aiosqlite's thread would otherwise answer a loop that asyncio.run has closed
    by then, and die with "Event loop is closed" on stderr.)"""
    opening = asyncio.ensure_future(connection)
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await (await opening).close()
        raise


async def connect_reader(path: Path, *, immutable: bool) -> aiosqlite.Connection:
    conn = await _opened(aiosqlite.connect(readonly_uri(path, immutable=immutable), uri=True))
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA query_only = ON")
        await _functions(conn)
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


async def _functions(conn: aiosqlite.Connection) -> None:
    """The SQL functions of our own: the keyword rules (one definition, in the domain)."""
    await conn.create_function("newsdesk_keywords", 4, sql_match, deterministic=True)


async def connect(path: Path, *, readonly: bool) -> aiosqlite.Connection:
    conn = await _opened(aiosqlite.connect(path, isolation_level=None))
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await _functions(conn)
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
        partial.replace(target)
    except sqlite3.Error as exc:  # the source was opened: the copy is what failed
        raise DatabaseError(f"cannot copy {source} to {target}: {exc}") from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
