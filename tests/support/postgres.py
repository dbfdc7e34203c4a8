"""A fresh PostgreSQL database per test, on the server NEWSDESK_TEST_DATABASE_URL names.

`.ci/run` starts a throw-away server and sets it (with NEWSDESK_REQUIRE_POSTGRES, so that
there a PostgreSQL test fails rather than skips); a plain `pytest` without it skips them,
saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

SERVER_ENV = "NEWSDESK_TEST_DATABASE_URL"
REQUIRE_ENV = "NEWSDESK_REQUIRE_POSTGRES"


def server_url() -> str:
    url = os.environ.get(SERVER_ENV, "").strip()
    if url:
        return url
    why = (
        f"no PostgreSQL server: set {SERVER_ENV}=postgresql://user@host:port/postgres (a user "
        "that may create databases), or run .ci/run, which starts one"
    )
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(why)
    pytest.skip(why)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped afterwards (skips the test without a server)."""
    server = server_url()
    name = f"newsdesk_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(server, name)
    finally:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """The URL of a new, empty database (dropped afterwards)."""
    async with fresh_database() as url:
        yield url
