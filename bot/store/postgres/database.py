"""A PostgreSQL database: an asyncpg pool, and what went wrong in one line.

Messages name the database as the config file writes it (``database.url`` with its password
shown as ``***``); the values its ``${NAME}`` references expanded to never appear in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import asyncpg

from bot.domain.urls import split_dsn
from bot.errors import DatabaseError
from bot.store.postgres.params import bind
from bot.store.postgres.schema import Connection, migrate, require_current, schema_version
from bot.store.sql import Params, Queries, Row, UniqueViolation, to_completion

CONNECT_TIMEOUT = 10.0  # seconds: a server that does not answer is reported, not waited for


def hidden(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def reason(exc: BaseException) -> str:
    """Why a connection could not be made or used, with what to do about the common ones."""
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return f"the server refused the login: {exc} (check the user and password in database.url)"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{exc} (create it first, e.g. `createdb -O newsdesk newsdesk`)"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return f"{exc} (the user in database.url needs to own the database)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is PostgreSQL running there, on that port?)"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:.0f} s (is the host right and reachable?)"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    if isinstance(exc, asyncpg.ClientConfigurationError | ValueError | OverflowError):
        return f"not a usable URL: {exc}"
    return str(exc) or type(exc).__name__


_FAILURES = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    ValueError,
    OverflowError,  # a port past 65535 gets as far as the socket
    TimeoutError,
)
# A statement on a connection the server ended (a restart, a stop, an administrator): the
# unit is lost, the pool replaces the connection, the next unit reconnects. asyncpg may meet
# the closed socket only as a protocol state it did not expect (InternalClientError).
_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.InternalClientError,
    ConnectionError,
)
_STATEMENT_FAILURES = (*_FAILURES, asyncpg.InternalClientError)


def statement_reason(exc: BaseException, *, lost: bool = False) -> str:
    """Why a statement failed, once connected (the URL is not in question any more)."""
    if lost or isinstance(exc, _LOST):
        return (
            "the connection to the server was lost (was PostgreSQL restarted or stopped?); "
            "the next attempt connects again"
        )
    return str(exc) or type(exc).__name__


def _changed(status: str) -> int:
    """The row count in a command tag: ``UPDATE 3``, ``INSERT 0 1``, ``DELETE 0``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PgTx:
    """The store contract's :class:`~bot.store.sql.Tx` on one pooled connection."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, db: PgDatabase, conn: Connection) -> None:
        self._db = db
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, args = bind(sql, params)
        try:
            return _changed(await self._conn.execute(text, *args))
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from None
        except _STATEMENT_FAILURES as exc:
            raise self._failure(exc, "cannot write it") from None

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        text, _ = bind(sql, ())
        try:
            await self._conn.executemany(text, rows)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from None
        except _STATEMENT_FAILURES as exc:
            raise self._failure(exc, "cannot write it") from None

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = bind(sql, params)
        try:
            return list(await self._conn.fetch(text, *args))
        except asyncpg.UniqueViolationError as exc:  # INSERT ... RETURNING
            raise UniqueViolation(str(exc)) from None
        except _STATEMENT_FAILURES as exc:
            raise self._failure(exc, "cannot use it") from None

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def lock(self, name: str) -> None:
        await self.fetch("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (name,))

    def _failure(self, exc: BaseException, doing: str) -> DatabaseError:
        try:
            lost = self._conn.is_closed()
        except asyncpg.InterfaceError:
            lost = True  # the pool took the connection back: the server closed it under us
        return self._db.statement_failure(exc, doing, lost=lost)


class PgDatabase(Queries):
    """A pool of connections to one PostgreSQL database."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, pool: asyncpg.Pool, display: str, secrets: Sequence[str]) -> None:
        self.display = display
        self._pool = pool
        self._secrets = tuple(secrets)
        self._closed = False

    @classmethod
    async def open(
        cls,
        dsn: str,
        display: str,
        secrets: Sequence[str] = (),
        *,
        schema: Literal["require", "migrate", "unchecked"] = "require",
        max_size: int = 10,
    ) -> PgDatabase:
        """Connect; ``require`` this Newsdesk's schema exactly (what ``run`` does), or
        ``migrate`` to it (``newsdesk migrate``), or leave it to the caller (``unchecked``: a
        copy's target, checked for strangers' tables before it is migrated)."""
        try:
            # The password apart from the URL: one typed raw may hold "@" or "/".
            parts = split_dsn(dsn)
            pool = await asyncpg.create_pool(
                parts.bare,
                password=parts.password,
                min_size=1,
                max_size=max_size,
                timeout=CONNECT_TIMEOUT,
            )
        except _FAILURES as exc:
            raise DatabaseError(
                f"database {display}: cannot connect: {hidden(reason(exc), secrets)}"
            ) from None
        db = cls(pool, display, secrets)
        try:
            if schema == "migrate":
                await db.migrate()
            elif schema == "require":
                require_current(display, await db.schema_version())
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._pool.close()

    async def __aenter__(self) -> PgDatabase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def failure(self, exc: BaseException, doing: str) -> DatabaseError:
        return DatabaseError(
            f"database {self.display}: {doing}: {hidden(reason(exc), self._secrets)}"
        )

    def statement_failure(
        self, exc: BaseException, doing: str, *, lost: bool = False
    ) -> DatabaseError:
        why = statement_reason(exc, lost=lost)
        return DatabaseError(f"database {self.display}: {doing}: {hidden(why, self._secrets)}")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection of the pool. Only a failure to get one is reported here as this
        database's: what the body raises is the body's (it may be another database's)."""
        try:
            conn = await self._pool.acquire()
        except _FAILURES as exc:
            raise self.failure(exc, "cannot use it") from None
        try:
            yield conn
        finally:
            await self._pool.release(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        """One atomic write unit (READ COMMITTED, PostgreSQL's default)."""
        async with self.connection() as conn:
            transaction = conn.transaction()
            try:
                await to_completion(transaction.start())
            except _STATEMENT_FAILURES as exc:
                raise self.statement_failure(exc, "cannot write it") from None
            except BaseException:  # cancelled while it started: end what did
                with contextlib.suppress(*_STATEMENT_FAILURES):
                    await to_completion(transaction.rollback())
                raise
            try:
                yield PgTx(self, conn)
            except BaseException:
                with contextlib.suppress(*_STATEMENT_FAILURES):
                    await to_completion(transaction.rollback())
                raise
            try:
                await to_completion(transaction.commit())
            except _STATEMENT_FAILURES as exc:
                raise self.statement_failure(exc, "cannot write it") from None

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.connection() as conn:
            return await PgTx(self, conn).fetch(sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def check_writable(self) -> None:
        """A connection of the pool answers, and a write unit can begin: the health check."""
        async with self.transaction() as tx:
            await tx.fetch("SELECT 1")

    async def schema_version(self) -> int:
        async with self.connection() as conn:
            try:
                return await schema_version(conn)
            except _FAILURES as exc:
                raise self.failure(exc, "cannot read it") from None

    async def migrate(self) -> int:
        async with self.connection() as conn:
            try:
                return await migrate(conn, self.display)
            except _FAILURES as exc:
                raise self.failure(exc, "cannot migrate it") from None
