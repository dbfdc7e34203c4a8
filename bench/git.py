"""Benchmark: a git source of 100,000 article files gains one commit of 10 changed files.

    .venv/bin/python bench/git.py [--files 100000] [--changed 10] [--repeat 3]

A local bare repository (file://) is made of ``--files`` generated articles under ``_news/``,
ingested once through the real GitPoller (a shallow clone, the whole tree read); then, per
round, a commit changes ``--changed`` files (8 corrected titles, 1 new file, 1 deleted) and the
poll that follows is timed: fetch, diff, checkout, read only those files, store, withdraw.
Target: under 1 s (no full rescan). The first ingest is printed too, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services.ingest.ingestor import Ingestor  # noqa: E402
from bot.settings import settings_from_mapping  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.wiring import git_poller, stores_of  # noqa: E402
from tests.support.articles import article_fields, markdown  # noqa: E402
from tests.support.git_remote import GitRemote, git  # noqa: E402


def build(remote: GitRemote, files: int) -> None:
    news = remote.work / "_news"
    news.mkdir(parents=True)
    for n in range(files):
        (news / f"{n:06d}.md").write_text(markdown(article_fields(n)), encoding="utf-8")
    remote.commit("all of them")
    git("gc", "--quiet", cwd=remote.bare)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        remote = GitRemote(base / "git")
        started = time.perf_counter()
        build(remote, args.files)
        print(f"repository of {args.files:,} files made in {time.perf_counter() - started:.1f} s")
        settings = settings_from_mapping(
            {
                "database": {"path": str(base / "db.sqlite")},
                "sources": [{"git": remote.url, "paths": ["_news"]}],
            },
            {},
        )
        db = await Database.open(settings.database.sqlite("bench"))
        try:
            stores = stores_of(db, settings)
            ingestor = Ingestor(stores.articles, settings.ingest, withdrawals=stores.withdrawals)
            poller = git_poller(settings, stores, ingestor)
            poller.clock = lambda: datetime.now(UTC)
            started = time.perf_counter()
            [first] = await poller.poll(settings.sources)
            first_s = time.perf_counter() - started
            print(f"first poll (clone, whole tree): {first_s:.1f} s, {first.describe()}")
            times = []
            for r in range(args.repeat):
                for k in range(args.changed - 2):
                    n = r * args.changed + k
                    remote.article(f"_news/{n:06d}.md", n, title=f"Corrected title {r}-{k}")
                remote.article(f"_news/new-{r}.md", args.files + r)
                remote.delete(f"_news/{args.files - 1 - r:06d}.md")
                remote.commit(f"round {r}")
                started = time.perf_counter()
                [report] = await poller.poll(settings.sources)
                times.append(time.perf_counter() - started)
                print(f"  round {r + 1}: {times[-1]:.3f} s, {report.describe()}")
            print(
                f"one commit of {args.changed} files among {args.files:,}: "
                f"median {statistics.median(times):.3f} s (target < 1 s)"
            )
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
