"""Build (once) a store of N generated articles, for the query benchmarks.

    python bench/store_1m.py [-n 1000000] [--workdir bench/out]

Articles come from the corpus generator's ``iter_articles`` (the same distributions as the
files: Zipf topics and providers, the real quality distribution, related coverage) and go
through the real parser validation, row builder and ``ArticleStore.apply_batch``; only the
YAML text step is skipped. The result is cached as ``<workdir>/store-<N>.db``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

from ab import code_root  # noqa: E402

if str(code_root()) not in sys.path:  # the benchmarks that import this choose the code
    sys.path.insert(0, str(code_root()))


async def build(path: Path, count: int) -> None:
    from gen_corpus import iter_articles

    from bot.domain.ingest.schema import article_from_mapping
    from bot.store.articles import ArticleStore
    from bot.store.db import Database
    from bot.store.rows import article_rows

    tmp = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    db = await Database.open(tmp)
    store = ArticleStore(db)
    started = time.perf_counter()
    batch = []
    done = 0
    for data in iter_articles(count, seed=1):
        clean = {k: v for k, v in data.items() if not k.startswith("_")}
        batch.append(article_rows(article_from_mapping(clean)))
        if len(batch) == 2000:
            await store.apply_batch(batch)
            done += len(batch)
            batch = []
            if done % 100_000 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:,} articles stored ({rate:,.0f}/s)", file=sys.stderr)
    if batch:
        await store.apply_batch(batch)
    await store.analyze()
    await db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    tmp.rename(path)
    print(f"built {path} in {time.perf_counter() - started:.0f}s", file=sys.stderr)


def store_path(workdir: Path, count: int) -> Path:
    return workdir / f"store-{count}.db"


def ensure(workdir: Path, count: int) -> Path:
    path = store_path(workdir, count)
    if not path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        asyncio.run(build(path, count))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    print(ensure(args.workdir, args.n))


if __name__ == "__main__":
    main()
