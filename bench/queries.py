"""Benchmark: the slash commands' database time at 1,000,000 articles, through aiosqlite.

    python bench/queries.py [-n 1000000] [--workdir bench/out]
    python bench/queries.py --baseline ../other-checkout [--rounds 3]   # side by side

Uses the store from ``bench/store_1m.py``. Times the exact store calls the commands make:
/news topic (both sorts, biggest to smallest topics, first and deep pages), topic and article
autocomplete (empty input, 1-3 letter prefixes, words), and /news search for a mix of the
commonest terms, mid-frequency and rare terms, two-word queries, 3-letter words, a topic
filter, and no match. Asked from a server that added a feed of its own, among 1,000 that did
(bench/server_sources.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ab import alternate, code_root, raw, side_by_side  # noqa: E402

sys.path.insert(0, str(code_root()))  # the code measured: this checkout, or --root DIR

from server_sources import ensure_server_sources, guild_of  # noqa: E402
from stats import summary  # noqa: E402
from store_1m import ensure  # noqa: E402

from bot.services.news import NewsService  # noqa: E402
from bot.store.articles import ArticleStore  # noqa: E402
from bot.store.browse import BrowseStore  # noqa: E402
from bot.store.db import Database  # noqa: E402


def vocabulary(path: Path) -> list[tuple[str, int]]:
    """FTS terms by the number of articles that contain them, commonest first."""
    conn = sqlite3.connect(path)
    try:
        # per column, leaving out the scope column (who may see an article, migration 0010)
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, articles_fts, col)")
        rows = conn.execute(
            "SELECT term, max(doc) AS docs FROM temp.vocab WHERE length(term) > 2 "
            "AND col != 'scope' GROUP BY term ORDER BY docs DESC"
        ).fetchall()
    finally:
        conn.close()
    return [(r[0], r[1]) for r in rows]


async def timed(
    label: str, calls: list[Callable[[], Awaitable[Any]]], rounds: int = 3
) -> tuple[str, list[float]]:
    timings = []
    for _ in range(rounds):
        for call in calls:
            started = time.perf_counter()
            await call()
            timings.append((time.perf_counter() - started) * 1000)
    return label, timings


def report(label: str, timings: list[float]) -> None:
    print(f"{label:58s} {summary(timings)}")


async def measure(path: Path) -> dict[str, list[float]]:
    terms = vocabulary(path)
    db = await Database.open(path)
    # asked from one of the servers with a source of their own (none: a layout without them)
    seen = {"guild": guild_of(7)} if await ensure_server_sources(db) else {}
    browse = BrowseStore(db)
    rng = random.Random(3)
    try:
        total = (await db.fetch_one("SELECT count(*) FROM articles"))[0]
        topics = await browse.topics(1000, **seen)
        print(
            f"store: {total:,} articles, {len(topics)} topics, {len(terms):,} terms",
            file=sys.stderr,
        )
        print(
            f"commonest terms: {', '.join(f'{t} ({d:,})' for t, d in terms[:8])}", file=sys.stderr
        )
        picked = topics[:10] + topics[len(topics) // 2 : len(topics) // 2 + 10] + topics[-10:]
        ids = [(await browse.topic(t.name)) for t in picked]
        topic_ids = [i[0] for i in ids if i]
        results = []
        results.append(
            await timed(
                "/news topic, best first, page 1",
                [(lambda t=t: browse.topic_page(t, "quality", 6, 0, **seen)) for t in topic_ids],
            )
        )
        results.append(
            await timed(
                "/news topic, newest first, page 1",
                [(lambda t=t: browse.topic_page(t, "recent", 6, 0, **seen)) for t in topic_ids],
            )
        )
        results.append(
            await timed(
                "/news topic, best first, page 20",
                [(lambda t=t: browse.topic_page(t, "quality", 6, 95, **seen)) for t in topic_ids],
            )
        )
        results.append(
            await timed("/news latest, page 1", [lambda: browse.latest(6, 0, **seen)] * 30)
        )
        prefixes = ["", "a", "c", "m", "ai", "co", "ma", "da", "rob", "clo", "vis", "qua"]
        names = [t.name for t in rng.sample(topics, 20)]
        results.append(
            await timed(
                "topic autocomplete (empty, 1-3 letters, names)",
                [(lambda p=p: browse.complete_topic(p, **seen)) for p in prefixes + names],
            )
        )
        letters3 = [t for t, _ in terms[:300] if len(t) >= 3]
        typed = [w[:3] for w in rng.sample(letters3, 20)] + [w for w, _ in terms[:10]]
        typed += [
            f"{a} {b[:3]}"
            for a, b in zip(rng.sample(letters3, 10), rng.sample(letters3, 10), strict=True)
        ]
        results.append(
            await timed(
                "article autocomplete (3-letter prefixes, words)",
                [(lambda p=p: browse.complete_article(p, **seen)) for p in typed],
            )
        )
        common = [t for t, _ in terms[:15]]
        middle = [t for t, _ in terms[len(terms) // 50 : len(terms) // 50 + 15]]
        rare = [t for t, _ in terms[-2000:-1985]]
        mix = common + middle + rare
        mix += [f"{a} {b}" for a, b in zip(common[:8], middle[:8], strict=True)]
        mix += [t[:3] for t in common[:8]] + ["zzzqqq nothing"]
        news = NewsService(ArticleStore(db), browse)
        searches = [(lambda q=q: news.search_page(q, None, 0, **seen)) for q in mix]
        results.append(
            await timed("/news search (common, mid, rare, pairs, 3 letters, none)", searches)
        )
        results.append(
            await timed(
                "/news search, commonest terms only",
                [(lambda q=q: news.search_page(q, None, 0, **seen)) for q in common],
            )
        )
        top = topics[0]
        top_id = (await browse.topic(top.name))[0]  # type: ignore[index]
        results.append(
            await timed(
                f"/news search with topic ({top.name})",
                [(lambda q=q: news.search_page(q, (top_id, top.name), 0, **seen)) for q in mix],
            )
        )
        return dict(results)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = ensure(args.workdir, args.n)
    if args.raw:
        raw(asyncio.run(measure(path)))
    elif args.baseline:
        common = ["-n", str(args.n), "--workdir", str(args.workdir)]
        side_by_side(*alternate(Path(__file__), common, args.baseline, args.rounds))
    else:
        print("percentiles by nearest rank (each one of the samples)")
        for label, timings in asyncio.run(measure(path)).items():
            report(label, timings)


if __name__ == "__main__":
    main()
