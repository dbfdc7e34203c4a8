"""Claims on subscriptions (subscription_leases): who may run one now, and for how long.

A claim is taken in one statement (an upsert that only replaces a claim that ran out), so of
processes claiming at once exactly one gets it, on SQLite and on PostgreSQL alike; each new
claim has the next generation. The owner renews it well before it runs out and stops as soon
as a renewal fails; :func:`still_held` lets a write unit check, inside its own transaction,
that its claim is still the current one (fencing), so a process that stalled past its lease
can never write over the next owner's work.

A subscription's row outlives it (no foreign key): SQLite gives a new subscription the id of
the last one removed, and its claims must go on from that one's generation, never start again
at 1 where a stale claim could pass for current.

Times are the callers' clocks: the processes of one installation must agree on the time to
well within a lease (NTP does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.sql import Db, Tx
from bot.store.times import db_time, parse_db_time

_CLAIM = """
INSERT INTO subscription_leases (subscription_id, owner, generation, expires_at)
SELECT ?, ?, 1, ? WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)
ON CONFLICT (subscription_id) DO UPDATE SET owner = excluded.owner,
    generation = subscription_leases.generation + 1, expires_at = excluded.expires_at
WHERE subscription_leases.expires_at <= ?
RETURNING generation
"""
_HELD = "subscription_id = ? AND owner = ? AND generation = ? AND expires_at > ?"  # the claim holds


@dataclass(frozen=True, slots=True)
class Lease:
    subscription_id: int
    owner: str
    generation: int
    expires_at: datetime


def _held(lease: Lease, now: datetime) -> tuple[int, str, int, str]:
    return (lease.subscription_id, lease.owner, lease.generation, db_time(now))


async def still_held(tx: Tx, lease: Lease, now: datetime) -> bool:
    """Whether ``lease`` is still the subscription's current claim (inside a write unit).

    On PostgreSQL the row stays share-locked until the unit ends, so a claim by another
    process waits for this unit's commit instead of slipping in between check and write
    (SQLite's one writer already keeps them apart)."""
    lock = " FOR SHARE" if tx.dialect == "postgresql" else ""
    row = await tx.fetch_one(
        f"SELECT 1 FROM subscription_leases WHERE {_HELD}{lock}",  # noqa: S608 - constant
        _held(lease, now),
    )
    return row is not None


class LeaseStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def claim(
        self, subscription_id: int, owner: str, *, now: datetime, ttl: timedelta
    ) -> Lease | None:
        """Claim the subscription until ``now + ttl``; None while another claim holds it (a
        holder extends its own with :meth:`renew`), or if the subscription is gone."""
        expires = now + ttl
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                _CLAIM, (subscription_id, owner, db_time(expires), subscription_id, db_time(now))
            )
        return None if row is None else Lease(subscription_id, owner, int(row[0]), expires)

    async def renew(self, lease: Lease, *, now: datetime, ttl: timedelta) -> Lease | None:
        """Extend a claim that still holds; None if it ran out or was taken meanwhile (then
        the owner stops: someone else may be running the subscription)."""
        expires = now + ttl
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE subscription_leases SET expires_at = ? WHERE {_HELD}",  # noqa: S608
                (db_time(expires), *_held(lease, now)),
            )
        if not changed:
            return None
        return Lease(lease.subscription_id, lease.owner, lease.generation, expires)

    async def release(self, lease: Lease, *, now: datetime) -> None:
        """End a claim now (a run that finished, a process stopping): the next process need
        not wait for it to run out."""
        async with self.db.transaction() as tx:
            await tx.execute(
                f"UPDATE subscription_leases SET expires_at = ? WHERE {_HELD}",  # noqa: S608
                (db_time(now), *_held(lease, now)),
            )

    async def current(self, subscription_id: int) -> Lease | None:
        """The subscription's latest claim, whether or not it ran out (for status)."""
        row = await self.db.fetch_one(
            "SELECT owner, generation, expires_at FROM subscription_leases "
            "WHERE subscription_id = ?",
            (subscription_id,),
        )
        if row is None:
            return None
        return Lease(subscription_id, str(row[0]), int(row[1]), parse_db_time(str(row[2])))
