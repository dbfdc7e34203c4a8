"""Benchmark: a run's candidate query with keyword filters, at 1,000,000 articles.

    python bench/keywords.py [-n 1000000] [--workdir bench/out] [--rounds 9]

Uses the store from ``bench/store_1m.py``. Keywords are matched by an SQL function in the
candidate query's second step (bot.domain.keywords), and a filter that throws most rows away
widens the scan; so the cost depends on how common the keyword is. Three keywords are picked
from a sample of 20,000 titles and excerpts: one in about 5% of the articles, one in about 0.5%,
one in about 0.02%. Each is timed for a subscription of every topic and of the most common
topic, side by side with the same subscription without keywords (the baseline), and with the
common one as an excluded keyword. Ten candidates are asked for, as a run of max_per_run 10.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ab import code_root  # noqa: E402

sys.path.insert(0, str(code_root()))

from stats import percentile  # noqa: E402
from store_1m import ensure  # noqa: E402

from bot.domain.keywords import words  # noqa: E402
from bot.domain.selection import Policy  # noqa: E402
from bot.store.candidates import CandidateQueries  # noqa: E402
from bot.store.db import Database  # noqa: E402

SHARES = (0.05, 0.005, 0.0002)


async def pick(db: Database) -> tuple[list[tuple[str, float]], str]:
    rows = await db.fetch("SELECT title, excerpt FROM articles WHERE id % 50 = 0 LIMIT 20000")
    seen: Counter[str] = Counter()
    for row in rows:
        seen.update(set(words(row[0]) + words(row[1] or "")))
    shares = {w: n / len(rows) for w, n in seen.items() if len(w) > 3 and w.isalpha()}
    chosen = [min(shares.items(), key=lambda item: abs(item[1] - s)) for s in SHARES]
    topic = await db.fetch_one("SELECT name FROM topics ORDER BY article_count DESC LIMIT 1")
    return chosen, str(topic[0])


async def timed(queries: CandidateQueries, policy: Policy, rounds: int) -> tuple[float, int]:
    samples, found = [], 0
    now = datetime.now(UTC)
    for _ in range(rounds):
        started = time.perf_counter()
        found = len(await queries.candidates(1, policy, now, 10))
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), found


async def measure(path: Path, count: int, rounds: int) -> None:
    db = await Database.open(path)
    try:
        queries = CandidateQueries(db)
        chosen, topic = await pick(db)
        print(f"{count:,} articles; p50 of {rounds} candidate queries (10 wanted), ms")
        print(
            f"{'keyword (share of articles)':34s} {'scope':>14s} {'keyword':>9s} {'baseline':>9s}"
        )
        for scope, topics in (("every topic", ()), (topic, (topic,))):
            base, _ = await timed(queries, Policy.build(topics=topics), rounds)
            for word, share in chosen:
                policy = Policy.build(topics=topics, keywords=[word])
                ms, found = await timed(queries, policy, rounds)
                label = f"{word} ({share:.2%}), {found} found"
                print(f"{label:34s} {scope[:14]:>14s} {ms:9.1f} {base:9.1f}")
            word = chosen[0][0]
            ms, _ = await timed(
                queries, Policy.build(topics=topics, exclude_keywords=[word]), rounds
            )
            print(f"{'not ' + word:34s} {scope[:14]:>14s} {ms:9.1f} {base:9.1f}")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    asyncio.run(measure(ensure(args.workdir, args.n), args.n, args.rounds))


if __name__ == "__main__":
    main()
