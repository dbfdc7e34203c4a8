"""``newsdesk copy-db --to URL_OR_PATH``: the configured store into a new database, SQLite or
PostgreSQL either way (how an installation outgrows SQLite, or goes back)."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from pathlib import Path

from bot.cli.process import EXIT_OK
from bot.domain.urls import split_dsn
from bot.errors import UsageError
from bot.settings import DatabaseSettings, Settings
from bot.store.copy import Source, SqliteSource, SqliteTarget, Target, copy_store
from bot.store.postgres.copy_io import PgSource, PgTarget, refuse_foreign_tables
from bot.store.postgres.database import PgDatabase

_POSTGRES = re.compile(r"postgres(ql)?://", re.IGNORECASE)


def target_path(to: str, database: DatabaseSettings) -> Path | None:
    """The SQLite file ``--to`` names (None for a PostgreSQL URL), checked before anything is
    opened: never the configured database itself."""
    if _POSTGRES.match(to):
        if split_dsn(to).shown == database.display:
            raise UsageError(f"copy-db: {split_dsn(to).shown} is the configured database itself")
        return None
    path = Path(to)
    if database.path is not None and path.resolve() == database.path.resolve():
        raise UsageError(f"copy-db: {path} is the configured database itself")
    if path.is_dir() or not path.parent.is_dir():
        raise UsageError(f"copy-db: {path}: expected a new SQLite file's path")
    return path


async def copy_db_command(settings: Settings, to: str, path: Path | None) -> int:
    database = settings.database
    async with AsyncExitStack() as stack:
        source: Source
        if database.dsn is not None:
            pg = await PgDatabase.open(database.dsn, database.display, database.secrets)
            stack.push_async_callback(pg.close)
            source = await stack.enter_async_context(PgSource(pg).snapshot())
        else:
            source = await stack.enter_async_context(
                SqliteSource(database.sqlite("copy-db")).snapshot()
            )
        target: Target
        if path is None:
            dsn = split_dsn(to)
            into = await PgDatabase.open(to, dsn.shown, dsn.secrets, schema="unchecked")
            stack.push_async_callback(into.close)
            await refuse_foreign_tables(into)
            await into.migrate()
            target = await stack.enter_async_context(PgTarget(into).writing())
        else:
            target = await stack.enter_async_context(SqliteTarget(path).writing())
        copied = await copy_store(source, target)
    counts = copied.counts
    print(
        f"copied {source.display} to {target.display}: {counts['articles']} articles, "
        f"{counts['deliveries']} deliveries, {counts['subscriptions']} subscriptions, "
        f"{counts['sources']} sources, {sum(counts.values())} rows in all "
        f"({copied.seconds:.1f}s)"
    )
    return EXIT_OK
