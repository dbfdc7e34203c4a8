"""A PostgreSQL database: an asyncpg pool, and what went wrong in one line.

Messages name the database as the config file writes it (``database.url`` with its password
shown as ``***``); the values its ``${NAME}`` references expanded to never appear in them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import asyncpg

from bot.domain.urls import split_dsn
from bot.errors import DatabaseError
from bot.store.postgres.schema import Connection, migrate, require_current, schema_version

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


class PgDatabase:
    """A pool of connections to one PostgreSQL database."""

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
    async def transaction(self) -> AsyncIterator[Connection]:
        """One atomic write unit (READ COMMITTED, PostgreSQL's default)."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            try:
                return list(await conn.fetch(sql, *args))
            except _FAILURES as exc:
                raise self.failure(exc, "cannot read it") from None

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
