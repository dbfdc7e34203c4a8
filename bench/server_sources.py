"""Sources added from Discord, for the query benchmarks: 1,000 servers with a feed of 50 items.

    from server_sources import ensure_server_sources
    await ensure_server_sources(db, servers=1000)

Each server's 50 articles are generated like the others (same distributions, another seed),
stored through ``ArticleStore.apply_batch(guild=...)``, so they are restricted to their server
(bot.store.visibility). Added once to the cached store; ``app_state`` remembers how many.
Server ``n`` has guild id ``GUILD_BASE + n``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests" / "support") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests" / "support"))

GUILD_BASE = 900_000_000_000_000_000
ITEMS = 50


def guild_of(n: int) -> int:
    return GUILD_BASE + n


async def ensure_server_sources(db, servers: int = 1000) -> int:  # type: ignore[no-untyped-def]
    """Add ``servers`` servers' feeds to the store (once); returns how many it has."""
    done = await db.fetch_one("SELECT value FROM app_state WHERE key = 'bench_server_sources'")
    if done is not None:
        return int(done[0])
    try:
        from bot.store.visibility import visible  # noqa: F401 - only this layout has servers
    except ImportError:
        return 0
    from gen_corpus import iter_articles

    from bot.domain.ingest.schema import article_from_mapping
    from bot.store.articles import ArticleStore
    from bot.store.rows import article_rows

    print(f"adding {servers} server sources of {ITEMS} items...", file=sys.stderr)
    started = time.perf_counter()
    store = ArticleStore(db)
    generated = iter_articles(servers * ITEMS, seed=2, dup_fraction=0)
    for n in range(servers):
        rows = []
        for _ in range(ITEMS):
            data = next(generated)
            clean = {k: v for k, v in data.items() if not k.startswith("_")}
            clean["webUrl"] = f"https://server{n}.example/{data['_slug']}"
            rows.append(article_rows(article_from_mapping(clean), f"server:{guild_of(n)}:feed"))
        await store.apply_batch(rows, guild=guild_of(n))
    await db.execute(
        "INSERT OR REPLACE INTO app_state (key, value) VALUES ('bench_server_sources', ?)",
        (str(servers),),
    )
    async with db.transaction() as conn:
        await conn.execute("ANALYZE")
    print(f"  done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return servers
