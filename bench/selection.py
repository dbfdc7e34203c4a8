"""Benchmark: one subscription's selection at 1,000,000 articles and 1,000 subscriptions.

    python bench/selection.py [-n 1000000] [--subscriptions 1000] [--workdir bench/out]
    python bench/selection.py --baseline ../other-checkout [--rounds 3]   # side by side

Uses the store from ``bench/store_1m.py`` (built on first use). Adds 1,000 servers with a feed
of 50 items each (bench/server_sources.py) and 1,000 subscriptions, one in each of those
servers, with a realistic mix of rules (1-3 Zipf topics or none, min_quality 0-80, max_age
1d/7d/30d/none, some type and provider filters) and gives each a history: 20 earlier runs
whose picks are recorded as sent. Then times what a publishing run asks the database
— the candidate query through aiosqlite plus the pure selection — for every subscription,
three passes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ab import alternate, code_root, raw, side_by_side  # noqa: E402

sys.path.insert(0, str(code_root()))  # the code measured: this checkout, or --root DIR

from server_sources import GUILD_BASE, ensure_server_sources  # noqa: E402
from stats import summary  # noqa: E402
from store_1m import ensure  # noqa: E402

from bot.domain.selection import Policy, select  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.subscriptions import SubscriptionStore  # noqa: E402

try:  # this layout
    from bot.domain.subscription import SubscriptionSpec
    from bot.store.candidates import CandidateQueries
    from bot.store.times import db_time, parse_db_time

    def candidate_query(db: Database):  # type: ignore[no-untyped-def]
        queries = CandidateQueries(db)
        return lambda sub, policy, now, limit: queries.candidates(
            sub.channel_id, policy, now, limit, guild=sub.guild_id
        )

except ImportError:  # the layout before bot/store/candidates.py, for side-by-side runs
    from bot.store.deliveries import DeliveryStore  # type: ignore[import-not-found]

    from bot.domain.models import SubscriptionSpec  # type: ignore[no-redef, attr-defined]
    from bot.store.db import db_time, parse_db_time  # type: ignore[no-redef, attr-defined]

    def candidate_query(db: Database):  # type: ignore[no-untyped-def]
        queries = DeliveryStore(db)
        return lambda sub, policy, now, limit: queries.candidates(
            sub.channel_id, policy, sub.spec.topics, now, limit
        )


HISTORY_RUNS = 20


def policy_for(spec: SubscriptionSpec) -> Policy:
    return Policy.of(spec)


async def setup(db: Database, count: int) -> None:
    done = await db.fetch_one("SELECT value FROM app_state WHERE key = 'bench_subscriptions'")
    if done is not None and int(done[0]) == count:
        return
    print(
        f"setting up {count} subscriptions with {HISTORY_RUNS} runs of history...", file=sys.stderr
    )
    rng = random.Random(7)
    topics = [r[0] for r in await db.fetch("SELECT name FROM topics ORDER BY article_count DESC")]
    providers = [
        r[0]
        for r in await db.fetch(
            "SELECT provider_name FROM articles WHERE id % 997 = 0 GROUP BY provider_name"
        )
    ]
    weights = [1 / (i + 1) for i in range(len(topics))]
    specs = []
    for i in range(count):
        chosen = tuple({*rng.choices(topics, weights, k=rng.choice([0, 1, 1, 2, 3]))})
        specs.append(
            SubscriptionSpec(
                channel_id=10_000 + i,
                topics=chosen,
                exclude_topics=tuple(rng.sample(topics[:30], 1)) if rng.random() < 0.1 else (),
                min_quality=rng.choice([0, 40, 60, 60, 70, 80]),
                max_per_run=rng.choice([1, 3, 3, 5]),
                max_age=rng.choice(
                    [
                        timedelta(days=1),
                        timedelta(days=7),
                        timedelta(days=7),
                        timedelta(days=30),
                        None,
                    ]
                ),
                types=("article",) if rng.random() < 0.1 else (),
                providers=tuple(rng.sample(providers, 3)) if rng.random() < 0.05 else (),
            )
        )
    await db.execute("DELETE FROM deliveries")
    await db.execute("DELETE FROM subscriptions")
    await SubscriptionStore(db).sync_from_config(specs)
    servers = await ensure_server_sources(db)
    if servers:  # each subscription in one of the servers that added a source
        await db.execute("UPDATE subscriptions SET guild_id = ? + (id % ?)", (GUILD_BASE, servers))
    candidates_of = candidate_query(db)
    now = await bench_now(db)
    for sub in await SubscriptionStore(db).list():
        spec = sub.spec
        policy = policy_for(spec)
        for run in range(HISTORY_RUNS):
            when = now - timedelta(hours=HISTORY_RUNS - run)
            candidates = await candidates_of(sub, policy, when, policy.max_per_run * 3 + 10)
            picked = select(candidates, policy, when).chosen
            async with db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO deliveries (channel_id, article_id, state, nonce, intent_at, "
                    "last_attempt_at, attempts, sent_at) VALUES (?, ?, 'sent', 'n', ?, ?, 1, ?)",
                    [
                        (spec.channel_id, c.article_id, t, t, t)
                        for c in picked
                        for t in [db_time(when)]
                    ],
                )
    await db.execute(
        "INSERT OR REPLACE INTO app_state (key, value) VALUES ('bench_subscriptions', ?)",
        (str(count),),
    )
    async with db.transaction() as conn:
        await conn.execute("ANALYZE")


async def bench_now(db: Database):  # type: ignore[no-untyped-def]
    row = await db.fetch_one("SELECT max(published_at) FROM articles")
    return parse_db_time(row[0]) + timedelta(hours=1)


LABEL = "selection per subscription"


async def measure(path: Path, count: int, passes: int = 3) -> dict[str, list[float]]:
    """The candidate query through aiosqlite plus the pure selection, for every subscription."""
    db = await Database.open(path)
    try:
        await setup(db, count)
        subs = await SubscriptionStore(db).list()
        candidates_of = candidate_query(db)
        now = await bench_now(db)
        articles = (await db.fetch_one("SELECT count(*) FROM articles"))[0]
        sent = (await db.fetch_one("SELECT count(*) FROM deliveries"))[0]
        print(
            f"store: {articles:,} articles, {len(subs):,} subscriptions, {sent:,} deliveries",
            file=sys.stderr,
        )
        timings: list[float] = []
        for _ in range(passes):
            for sub in subs:
                policy = policy_for(sub.spec)
                started = time.perf_counter()
                candidates = await candidates_of(sub, policy, now, policy.max_per_run * 3 + 10)
                select(candidates, policy, now)
                timings.append((time.perf_counter() - started) * 1000)
        return {LABEL: timings}
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = ensure(args.workdir, args.n)
    if args.raw:
        raw(asyncio.run(measure(path, args.subscriptions, passes=1)))
    elif args.baseline:
        asyncio.run(measure(path, args.subscriptions, passes=0))  # the history, once
        common = ["-n", str(args.n), "--subscriptions", str(args.subscriptions)]
        common += ["--workdir", str(args.workdir)]
        side_by_side(*alternate(Path(__file__), common, args.baseline, args.rounds))
    else:
        samples = asyncio.run(measure(path, args.subscriptions))
        print(
            "selection per subscription (candidates query through aiosqlite + select), "
            f"percentiles by nearest rank: {summary(samples[LABEL])}"
        )


if __name__ == "__main__":
    main()
