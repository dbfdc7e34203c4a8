"""Feeds servers added from Discord: one per URL per server, a limit, removal, listing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.server_sources import (
    ServerSourceExistsError,
    ServerSourceLimitError,
    ServerSourceStore,
)
from bot.store.sources import SourceStore
from bot.store.sql import Db


@pytest.fixture
def db(any_db: Db) -> Db:
    """The store contract suite: every test here runs on SQLite and on PostgreSQL."""
    return any_db


AT = datetime(2026, 12, 2, 12, tzinfo=UTC)
URL = "https://feeds.example.net/a.xml"


async def add(store: ServerSourceStore, guild: int, url: str, limit: int = 50):  # type: ignore[no-untyped-def]
    return await store.add(
        guild,
        url,
        topics=("AI",),
        quality=60,
        interval=timedelta(minutes=30),
        added_by=7,
        at=AT,
        limit=limit,
    )


async def test_add_list_and_remove(db: Db) -> None:
    store = ServerSourceStore(db)
    added = await add(store, 1, URL)
    assert (added.guild_id, added.url, added.topics, added.quality) == (1, URL, ("AI",), 60)
    assert added.key == f"server:1:{URL}"
    await add(store, 2, URL)  # another server may add the same feed: its own source
    [(listed, state)] = await store.of_guild(1)
    assert listed == added and state.last_fetch_at is None and state.key == added.key
    assert await store.count(2) == 1 and await store.count(3) == 0
    assert [s.guild_id for s in await store.all()] == [1, 2]
    assert await store.remove(3, URL) is None  # not that server's
    removed = await store.remove(1, URL)
    assert removed == added and await store.of_guild(1) == []
    assert [s.guild_id for s, _ in await store.everyone()] == [2]


async def test_a_server_cannot_add_a_url_twice_or_past_its_limit(db: Db) -> None:
    store = ServerSourceStore(db)
    await add(store, 1, URL, limit=2)
    with pytest.raises(ServerSourceExistsError):
        await add(store, 1, URL, limit=2)
    await add(store, 1, URL + "?2", limit=2)
    with pytest.raises(ServerSourceLimitError) as raised:
        await add(store, 1, URL + "?3", limit=2)
    assert raised.value.limit == 2 and await store.count(1) == 2
    with pytest.raises(ServerSourceLimitError):  # 0: the server may add none
        await add(store, 2, URL, limit=0)


async def test_adding_at_once_never_passes_the_limit(db: Db) -> None:
    store = ServerSourceStore(db)
    results = await asyncio.gather(
        *(add(store, 1, f"{URL}?{n}", limit=3) for n in range(8)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(isinstance(r, ServerSourceLimitError) for r in results if isinstance(r, Exception))
    assert await store.count(1) == 3


async def test_states_do_not_bring_a_removed_server_source_back(db: Db) -> None:
    store, sources = ServerSourceStore(db), SourceStore(db)
    added = await add(store, 1, URL)
    states = await sources.states([added.key, "feed:https://x.example/f"])
    assert set(states) == {added.key, "feed:https://x.example/f"}
    await store.remove(1, URL)
    assert list(await sources.states([added.key])) == []
    assert [s.key for s in await sources.all()] == ["feed:https://x.example/f"]
