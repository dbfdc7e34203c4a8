"""Benchmark: what withdrawals add to a scan of a source of N remembered files.

    python bench/withdrawals.py [-n 1000000] [--workdir bench/out] [--rounds 7]

A store whose ``source_files`` remember N files under one source directory (one URL each, as
Smartable files carry) is built once. Timed: the check every scan of an unchanged source
makes (``WithdrawalStore.file_count``), side by side with what such a scan already pays to
look up the remembered state of its N files (``ArticleStore.file_states`` in the ingestor's
chunks of 1,000), and, for a scan that finds files missing, reading the directory's
remembered files (``files_under``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ab import code_root  # noqa: E402

sys.path.insert(0, str(code_root()))

from stats import summary  # noqa: E402

from bot.services.ingest.ingestor import STATE_CHUNK  # noqa: E402
from bot.store.articles import ArticleStore  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.withdrawals import WithdrawalStore  # noqa: E402

SOURCE = "/data/news"


def file_path(n: int) -> str:
    return f"{SOURCE}/{n // 1000:04d}/2021-01-01-an-article-title-of-usual-length-{n}.md"


async def build(path: Path, count: int) -> None:
    if path.exists():
        return
    db = await Database.open(path)
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO source_files VALUES (?, 1, 1, 1, 1, ?, NULL, 'x')",
                ((file_path(n), f"https://news.example.com/articles/{n}") for n in range(count)),
            )
    finally:
        await db.close()


async def timed(rounds: int, work: object) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"source-files-{args.n}.db"
    await build(path, args.n)
    db = await Database.open(path)
    try:
        withdrawals, articles = WithdrawalStore(db), ArticleStore(db)
        keys = [file_path(n) for n in range(args.n)]

        async def states() -> None:
            for start in range(0, len(keys), STATE_CHUNK):
                await articles.file_states(keys[start : start + STATE_CHUNK])

        rows = [
            (
                "unchanged source: file_count",
                await timed(args.rounds, lambda: withdrawals.file_count(SOURCE)),
            ),
            ("baseline: the scan's file_states lookups", await timed(args.rounds, states)),
            (
                "files missing: files_under",
                await timed(max(1, args.rounds // 2), lambda: withdrawals.files_under(SOURCE)),
            ),
        ]
    finally:
        await db.close()
    print(f"{args.n:,} remembered files under one source")
    for name, samples in rows:
        print(f"{name:44s} {summary(samples)}")


if __name__ == "__main__":
    asyncio.run(main())
