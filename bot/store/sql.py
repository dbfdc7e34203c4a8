"""The store contract's way to speak SQL, whichever database is behind it.

Every store talks to a :class:`Db` and, inside a write unit, to a :class:`Tx`; SQLite
(``bot.store.db``) and PostgreSQL (``bot.store.postgres.database``) implement both. Stores
write their statements once, with ``?`` or ``:name`` parameters as SQLite takes them; the
PostgreSQL side numbers them (``$1``...) once per statement. What differs between the two
dialects beyond that is chosen by the store from :attr:`Db.dialect`, in the store, next to
the statement it changes.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol, TypeAlias

Dialect: TypeAlias = Literal["sqlite", "postgresql"]
Params: TypeAlias = Sequence[Any] | Mapping[str, Any]
# sqlite3.Row or asyncpg.Record: both index by position and by column name, iterate over
# their values, and turn into a dict with dict(row).
Row: TypeAlias = Any


async def to_completion(operation: Awaitable[Any]) -> Any:
    """Await ``operation`` to its end even if this task is cancelled meanwhile; then re-raise.
    For COMMIT and ROLLBACK: a write unit never ends with its outcome unknown."""
    future = asyncio.ensure_future(operation)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if not future.done():
            with contextlib.suppress(BaseException):
                await future
        raise


def in_json(dialect: Dialect, kind: Literal["int", "text"]) -> str:
    """``IN (...)`` the members of one parameter, a JSON array (``json.dumps(values)``): one
    statement, and one parameter, whatever the number of values."""
    if dialect == "sqlite":
        return "IN (SELECT value FROM json_each(?))"
    cast = "::bigint" if kind == "int" else ""
    return f"IN (SELECT jsonb_array_elements_text(?::jsonb){cast})"


class UniqueViolation(Exception):
    """A write met a UNIQUE constraint (or primary key); its write unit is rolled back."""


class Tx(Protocol):
    """One atomic write unit: everything done through it commits together, or not at all."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def lock(self, name: str) -> None:
        """Until this unit ends, no other unit (of any process) that locks ``name`` runs past
        its own ``lock``: for a read-then-write rule such as a limit. SQLite's write units run
        one at a time anyway; PostgreSQL's need it."""


class Db(Protocol):
    """A store's database: reads, single-statement writes, and write units."""

    @property
    def dialect(self) -> Dialect: ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row (a count, say); None if there is no row."""

    async def execute(self, sql: str, params: Params = ()) -> None:
        """One statement in a write unit of its own."""

    async def check_writable(self) -> None:
        """Raise if a write unit cannot be started (the health check)."""

    async def close(self) -> None: ...


class Queries(abc.ABC):
    """What both databases build the same way on their own reads and write units."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    @abc.abstractmethod
    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> None:
        """A single-statement write in its own write unit."""
        async with self.transaction() as tx:
            await tx.execute(sql, params)
