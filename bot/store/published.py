"""The published-flag rule: which articles may be auto-posted (``postable``).

A source can mark an article as already published; with ``ingest.trust_published_flag`` such
an article is stored but never auto-posted; neither is a withdrawn one. The rule is stated
once, here: ingest applies it to each row it writes, and a changed flag applies it to every
stored article (withdrawals apply it too: bot.store.withdrawals).
"""

from __future__ import annotations

import logging

from bot.store.sql import Db

log = logging.getLogger(__name__)


def postable(trust_published_flag: bool, source_published: bool, *, withdrawn: bool) -> int:
    """0 when the article left its source (withdrawn), or the source says published and we
    trust it: never auto-posted."""
    return 0 if withdrawn or (trust_published_flag and source_published) else 1


async def apply_published_policy(db: Db, trust_published_flag: bool) -> int:
    """Recompute ``postable`` if ``trust_published_flag`` changed since the last run.

    Returns the number of articles whose status changed.
    """
    wanted = "1" if trust_published_flag else "0"
    row = await db.fetch_one("SELECT value FROM app_state WHERE key = 'trust_published_flag'")
    if row is not None and row[0] == wanted:
        return 0
    async with db.transaction() as tx:
        changed = 0
        for published in (False, True):
            value = postable(trust_published_flag, published, withdrawn=False)
            changed += await tx.execute(
                "UPDATE articles SET postable = ? WHERE source_published = ? AND postable != ? "
                "AND withdrawn_at IS NULL",
                (value, int(published), value),
            )
        await tx.execute(
            "UPDATE article_topics SET postable = "
            "(SELECT a.postable FROM articles a WHERE a.id = article_topics.article_id) "
            "WHERE postable != "
            "(SELECT a.postable FROM articles a WHERE a.id = article_topics.article_id)"
        )
        await tx.execute(
            "INSERT INTO app_state (key, value) VALUES ('trust_published_flag', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (wanted,),
        )
    if changed:
        log.info("trust_published_flag is now %s: %d articles changed", wanted, changed)
    return changed
