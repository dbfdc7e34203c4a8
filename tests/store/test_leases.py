"""Claims on subscriptions: one holder at a time, generations that fence a late writer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.subscription import SubscriptionSpec
from bot.store.leases import Lease, LeaseStore, still_held
from bot.store.sql import Db
from bot.store.subscriptions import SubscriptionStore

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
TTL = timedelta(seconds=30)


@pytest.fixture
def db(any_db: Db) -> Db:
    """The store contract suite: every test here runs on SQLite and on PostgreSQL."""
    return any_db


async def subscriptions(db: Db, count: int) -> list[int]:
    store = SubscriptionStore(db)
    specs = [SubscriptionSpec.model_validate({"channel_id": c}) for c in range(1, count + 1)]
    await store.sync_from_config(specs)
    return [s.id for s in await store.list()]


async def subscription(db: Db) -> int:
    (sid,) = await subscriptions(db, 1)
    return sid


async def held(db: Db, lease: Lease, now: datetime) -> bool:
    async with db.transaction() as tx:
        return await still_held(tx, lease, now)


async def test_a_claim_holds_until_it_runs_out_and_the_next_one_fences_the_first(db: Db) -> None:
    sid = await subscription(db)
    leases = LeaseStore(db)
    first = await leases.claim(sid, "a", now=NOW, ttl=TTL)
    assert first == Lease(sid, "a", 1, NOW + TTL)
    assert await leases.claim(sid, "b", now=NOW + TTL / 2, ttl=TTL) is None
    assert await leases.claim(sid, "a", now=NOW + TTL / 2, ttl=TTL) is None  # renew, not claim
    assert await held(db, first, NOW + TTL / 2)

    later = NOW + TTL  # it ran out: b takes it, with the next generation
    second = await leases.claim(sid, "b", now=later, ttl=TTL)
    assert second == Lease(sid, "b", 2, later + TTL)
    assert not await held(db, first, later)  # a stalled past its lease: its writes are refused
    assert await leases.renew(first, now=NOW + TTL / 3, ttl=TTL) is None  # and it stops
    assert await held(db, second, later)
    assert await leases.current(sid) == second


async def test_the_holder_renews_and_a_late_renewal_fails(db: Db) -> None:
    sid = await subscription(db)
    leases = LeaseStore(db)
    lease = await leases.claim(sid, "a", now=NOW, ttl=TTL)
    assert lease is not None
    renewed = await leases.renew(lease, now=NOW + TTL / 3, ttl=TTL)
    assert renewed == Lease(sid, "a", 1, NOW + TTL / 3 + TTL)
    assert await leases.claim(sid, "b", now=NOW + TTL, ttl=TTL) is None  # renewed: still a's
    assert await leases.renew(renewed, now=renewed.expires_at, ttl=TTL) is None  # too late
    assert await held(db, renewed, renewed.expires_at) is False


async def test_a_released_claim_is_free_at_once(db: Db) -> None:
    sid = await subscription(db)
    leases = LeaseStore(db)
    lease = await leases.claim(sid, "a", now=NOW, ttl=TTL)
    assert lease is not None
    await leases.release(lease, now=NOW + timedelta(seconds=1))
    taken = await leases.claim(sid, "b", now=NOW + timedelta(seconds=1), ttl=TTL)
    assert taken is not None and taken.generation == 2
    await leases.release(lease, now=NOW + timedelta(seconds=2))  # a's old claim: changes nothing
    assert await leases.claim(sid, "c", now=NOW + timedelta(seconds=2), ttl=TTL) is None


async def test_of_processes_claiming_at_once_exactly_one_gets_it(db: Db) -> None:
    ids = await subscriptions(db, 20)
    leases = LeaseStore(db)
    claims = await asyncio.gather(
        *(leases.claim(sid, owner, now=NOW, ttl=TTL) for sid in ids for owner in "abcd")
    )
    taken = [c for c in claims if c is not None]
    assert sorted(c.subscription_id for c in taken) == sorted(ids)  # one per subscription
    assert {c.generation for c in taken} == {1}


async def test_a_removed_subscription_cannot_be_claimed_and_its_id_keeps_counting(
    db: Db,
) -> None:
    sid = await subscription(db)
    leases = LeaseStore(db)
    stale = await leases.claim(sid, "a", now=NOW, ttl=TTL)
    assert stale is not None
    await SubscriptionStore(db).sync_from_config([])  # removed from the config
    assert await leases.claim(sid, "b", now=NOW + TTL, ttl=TTL) is None
    assert await leases.claim(12345, "a", now=NOW, ttl=TTL) is None
    store = SubscriptionStore(db)
    await store.sync_from_config([SubscriptionSpec.model_validate({"channel_id": 9})])
    # a new subscription under the removed one's id, as SQLite hands it out again
    await db.execute("UPDATE subscriptions SET id = ? WHERE channel_id = 9", (sid,))
    again = await leases.claim(sid, "a", now=NOW + TTL, ttl=TTL)
    assert again is not None and again.generation == 2  # never 1 again: stale stays fenced
    assert not await held(db, stale, NOW + TTL)


async def test_a_claim_waits_for_a_fenced_unit_of_the_holder_to_end(db: Db) -> None:
    """Check and write are one: a unit that found its claim current commits before anyone
    can take the claim over (on PostgreSQL the check share-locks the claim's row)."""
    sid = await subscription(db)
    leases = LeaseStore(db)
    lease = await leases.claim(sid, "a", now=NOW, ttl=TTL)
    assert lease is not None
    checked, finish = asyncio.Event(), asyncio.Event()

    async def fenced_write() -> None:
        async with db.transaction() as tx:
            assert await still_held(tx, lease, NOW + TTL / 2)
            checked.set()
            await finish.wait()  # the holder's post is being recorded
            await tx.execute("INSERT INTO app_state (key, value) VALUES ('written', 'a')")

    writer = asyncio.create_task(fenced_write())
    await checked.wait()
    taking = asyncio.create_task(leases.claim(sid, "b", now=NOW + TTL, ttl=TTL))
    done, _ = await asyncio.wait({taking}, timeout=0.3)
    assert not done  # b waits for a's unit
    finish.set()
    await writer
    taken = await taking
    assert taken is not None and taken.generation == 2
