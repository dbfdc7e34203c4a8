"""The store contract suite: a test module that overrides ``db`` with ``any_db`` runs every
one of its tests on SQLite and on PostgreSQL (a fresh, migrated database each time).

Which modules are in it so far is listed in docs/architecture.md ("One store, two
databases"); the others still run on SQLite only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.db import Database
from bot.store.postgres.database import PgDatabase
from bot.store.sql import Db
from tests.support.postgres import fresh_database

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Db]:
    if request.param == "sqlite":
        async with await Database.open(tmp_path / "newsdesk.db") as sqlite:
            yield sqlite
        return
    async with fresh_database() as url, await PgDatabase.open(url, "pg", schema="migrate") as pg:
        yield pg
