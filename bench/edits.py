"""Benchmark: finding the posts to edit after an ingest changed 1,000 of 1,000,000 articles.

    python bench/edits.py [-n 1000000] [--workdir bench/out] [--rounds 5]

Uses a copy of the store from ``bench/store_1m.py`` with 50,000 delivery records added
(25,000 articles posted to two channels each, in 500 channels); the 1,000 changed articles are
all posted ones, so every change queues two edits (the worst case). Each round re-ingests
them with a corrected title through the real ``ArticleStore.apply_batch``, against a baseline
of the same change to 1,000 articles never posted (the same writes, full-text index included,
and nothing to queue). Also timed: the queueing statement alone (rolled back), and what a
publishing run asks, ``EditQueue.due`` of one channel.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ab import code_root  # noqa: E402

sys.path.insert(0, str(code_root()))

from stats import percentile, summary  # noqa: E402
from store_1m import ensure  # noqa: E402

from bot.domain.models import Article  # noqa: E402
from bot.store.articles import ArticleStore  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.edits import FLAG_SQL, EditQueue  # noqa: E402
from bot.store.rows import article_rows  # noqa: E402
from bot.store.times import db_time, utcnow  # noqa: E402

POSTED, CHANNELS, CHANGED = 25_000, 500, 1_000


async def add_deliveries(db: Database, ids: list[int]) -> None:
    now = db_time(utcnow())
    rows = []
    for n, article_id in enumerate(ids):
        for copy in (0, 1):
            channel = 10_000 + (n * 2 + copy) % CHANNELS
            rows.append((channel, article_id, "sent", "n", now, now, n * 2 + copy + 1, now, "x"))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO deliveries (channel_id, article_id, state, nonce, intent_at, "
            "last_attempt_at, message_id, sent_at, shown_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await conn.execute("ANALYZE deliveries")


async def timed_batch(store: ArticleStore, articles: list[Article]) -> float:
    rows = [article_rows(a) for a in articles]  # built outside the clock: ingest workers do it
    started = time.perf_counter()
    await store.apply_batch(rows)
    return (time.perf_counter() - started) * 1000


async def measure(path: Path, rounds: int) -> None:
    db = await Database.open(path)
    store, queue = ArticleStore(db), EditQueue(db)
    rng = random.Random(5)
    try:
        top = (await db.fetch_one("SELECT max(id) FROM articles"))[0]
        picked = rng.sample(range(1, top + 1), min(POSTED, top // 2) + CHANGED * rounds)
        posted, never = picked[: len(picked) - CHANGED * rounds], picked[-CHANGED * rounds :]
        await add_deliveries(db, posted)
        count = (await db.fetch_one("SELECT count(*) FROM deliveries"))[0]
        print(f"store: {top:,} articles, {count:,} deliveries", file=sys.stderr)
        shown, unposted, flag_only, due = [], [], [], []
        for number in range(rounds):
            changed = await store.get_many(rng.sample(posted, CHANGED))
            alone = await store.get_many(never[number * CHANGED : (number + 1) * CHANGED])
            unposted.append(
                await timed_batch(store, [replace(a, title=f"{a.title} (update)") for a in alone])
            )
            shown.append(
                await timed_batch(
                    store, [replace(a, title=f"{a.title} (update {number})") for a in changed]
                )
            )
            queued = (await db.fetch_one("SELECT count(*) FROM deliveries WHERE edit_due = 1"))[0]
            ids = "[" + ",".join(str(a.id) for a in changed) + "]"
            async with db.transaction() as conn:
                started = time.perf_counter()
                await conn.execute(FLAG_SQL, (ids,))
                flag_only.append((time.perf_counter() - started) * 1000)
                await conn.rollback()
            for channel in rng.sample(range(10_000, 10_000 + CHANNELS), 50):
                started = time.perf_counter()
                await queue.due(channel, now=utcnow(), cutoff=None, limit=10)
                due.append((time.perf_counter() - started) * 1000)
            await db.execute("UPDATE deliveries SET edit_due = 0 WHERE edit_due = 1")
            print(f"  round {number + 1}: {queued:,} posts queued", file=sys.stderr)
        print("percentiles by nearest rank (each one of the samples)")
        print(f"{'(ms)':44s} {'p50':>8s} {'max':>8s}   baseline (never posted): p50      max")
        print(
            f"{'ingest of 1,000 corrected titles (queues)':44s} "
            f"{percentile(shown, 50):8.1f} {max(shown):8.1f}   "
            f"{'':23s} {percentile(unposted, 50):6.1f} {max(unposted):8.1f}"
        )
        print(f"{'queueing their 2,000 posts alone':44s} {summary(flag_only)}")
        print(f"{'EditQueue.due of one channel (a run)':44s} {summary(due)}")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    source = ensure(args.workdir, args.n)
    work = args.workdir / f"edits-{args.n}.db"
    shutil.copyfile(source, work)  # the store is changed: measure on a copy
    try:
        asyncio.run(measure(work, args.rounds))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
