"""PostgreSQL's two ends of ``newsdesk copy-db`` (see bot.store.copy)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager

from bot.errors import DatabaseError
from bot.store.copy import BATCH, TABLES, Row
from bot.store.postgres.database import PgDatabase
from bot.store.postgres.schema import VERSION_TABLE, Connection

_COPY_LOCK = 0x636F7079  # "copy": two copies into one database take turns


async def _columns(conn: Connection, table: str) -> list[str]:
    """The table's columns but the generated ones (the search vectors), which are derived."""
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = $1 AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position",
        table,
    )
    if not rows:
        raise DatabaseError(f"copy-db: no table {table}: is this a Newsdesk database?")
    return [str(row[0]) for row in rows]


class PgSource:
    """A PostgreSQL store read in one REPEATABLE READ, READ ONLY transaction: one snapshot."""

    _conn: Connection

    def __init__(self, db: PgDatabase) -> None:
        self.display = db.display
        self._db = db

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PgSource]:
        async with (
            self._db.connection() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            self._conn = conn
            yield self

    async def columns(self, table: str) -> list[str]:
        return await _columns(self._conn, table)

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncGenerator[list[Row], None]:
        query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1"  # noqa: S608
        cursor = await self._conn.cursor(query)
        while batch := await cursor.fetch(BATCH):
            yield [tuple(row) for row in batch]


class PgTarget:
    """A PostgreSQL store written with COPY in one transaction."""

    _conn: Connection

    def __init__(self, db: PgDatabase) -> None:
        self.display = db.display
        self._db = db

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[PgTarget]:
        async with self._db.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _COPY_LOCK)
            self._conn = conn
            yield self

    async def columns(self, table: str) -> list[str]:
        return await _columns(self._conn, table)

    async def occupied(self) -> list[str]:
        found = []
        for table in TABLES:
            if await self._conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):  # noqa: S608
                found.append(table)
        return found

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def finish(self) -> None:
        """Move each identity past the ids copied, so the next row gets a new one."""
        identities = await self._conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = current_schema() AND is_identity = 'YES'"
        )
        for table, column in identities:
            await self._conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), max({column})) "  # noqa: S608
                f"FROM {table} HAVING max({column}) IS NOT NULL"
            )


async def refuse_foreign_tables(db: PgDatabase) -> None:
    """A copy goes into an empty database or one Newsdesk made and left empty: never into
    someone else's, which migrating would change before the copy could refuse it."""
    rows = await db.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = "
        "current_schema() AND table_name <> ALL($1::text[]) ORDER BY table_name",
        ([*TABLES, VERSION_TABLE],),
    )
    if rows:
        names = ", ".join(str(row[0]) for row in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise DatabaseError(
            f"copy-db: {db.display} is not empty (it has tables Newsdesk does not know: "
            f"{names}); copy into a new database"
        )
