"""Who may see an article: the one definition of the rule, as the SQL every query carries.

An article is global unless only sources that servers added from Discord carry it; then it is
``restricted`` and visible to the servers in ``article_guilds`` (migration 0009). Each query
that lists, counts, searches or selects articles puts this condition inside, before its LIMIT
(a filter applied afterwards would starve a small server's pages). The condition reads the
server from the ``:guild`` parameter; NULL (a DM, a channel whose server is not known) sees
only global articles.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection

from bot.store.sql import Tx


def visible(row: str) -> str:
    """``row`` (an alias or a table with ``restricted`` and ``article_id``/``id``, written as
    ``alias.id_column``) may be seen from ``:guild``."""
    alias = row.partition(".")[0]
    return (
        f"({alias}.restricted = 0 OR EXISTS (SELECT 1 FROM article_guilds g "  # noqa: S608
        f"WHERE g.article_id = {row} AND g.guild_id = :guild))"
    )


# The full-text indexes carry each article's ``scope`` (migration 0010): empty for a global
# article; ``r`` and ``g<id>`` for each server that may see a restricted one. A search adds
# the server's scope to its MATCH, so FTS5 skips what the server may not see while it walks
# the matches, before any LIMIT.
_SCOPE_OF = (
    "'r' || coalesce((SELECT ' ' || group_concat('g' || guild_id, ' ') FROM article_guilds g "
    "WHERE g.article_id = articles.id), '')"
)


def scoped_match(query: str, columns: str, guild: int | None) -> str:
    """An FTS5 ``query`` (phrases built by bot.domain.search, never raw text) searched in
    ``columns`` (``{title excerpt}``) only, among the articles ``guild`` may see."""
    hidden = "scope : r" if guild is None else f"(scope : r NOT scope : g{int(guild)})"
    return f"{columns} : ({query}) NOT {hidden}"


# Per topic, the live restricted articles a server may see: what it adds to the global
# topics.article_count.
GUILD_TOPIC_EXTRA = """
SELECT t.topic_id AS topic_id, count(*) AS n
FROM article_guilds g JOIN articles a ON a.id = g.article_id
JOIN article_topics t ON t.article_id = g.article_id
WHERE g.guild_id = :guild AND a.restricted = 1 AND a.withdrawn_at IS NULL
GROUP BY t.topic_id
"""


async def share(tx: Tx, ids: Collection[int], guild: int) -> None:
    """``guild``'s own source carries these restricted articles: the server may see them."""
    if ids:
        listed = json.dumps(sorted(ids))
        await tx.execute(
            "INSERT OR IGNORE INTO article_guilds (article_id, guild_id) "
            "SELECT value, ? FROM json_each(?)",
            (guild, listed),
        )
        await tx.execute(
            f"UPDATE articles SET scope = {_SCOPE_OF} "  # noqa: S608 - a constant fragment
            "WHERE id IN (SELECT value FROM json_each(?)) AND restricted = 1",
            (listed,),
        )


async def share_each(tx: Tx, servers: dict[int, tuple[int, ...]]) -> None:
    """Each restricted article in ``servers`` may be seen by the servers listed for it."""
    by_server: dict[int, set[int]] = {}
    for article_id, ids in servers.items():
        for server in ids:
            by_server.setdefault(server, set()).add(article_id)
    for server, articles in sorted(by_server.items()):
        await share(tx, articles, server)


async def widen(tx: Tx, ids: Collection[int], relinked: Collection[int]) -> Counter[int]:
    """A global source carries these restricted articles: everyone may see them from now on.

    Their topic links count from now on (topics.article_count counts global articles); the
    links of ``relinked`` ones were written anew in this transaction and are counted by the
    caller. Returns the count changes per topic.
    """
    counts: Counter[int] = Counter()
    if not ids:
        return counts
    kept = json.dumps(sorted(set(ids) - set(relinked)))
    for topic_id, n in await tx.fetch(
        "SELECT t.topic_id, count(*) FROM article_topics t JOIN articles a ON a.id = t.article_id "
        "WHERE t.article_id IN (SELECT value FROM json_each(?)) AND t.restricted = 1 "
        "AND a.withdrawn_at IS NULL GROUP BY t.topic_id",
        (kept,),
    ):
        counts[topic_id] += n
    await tx.execute(
        "UPDATE article_topics SET restricted = 0 WHERE article_id IN "
        "(SELECT value FROM json_each(?))",
        (kept,),
    )
    every = json.dumps(sorted(ids))
    await tx.execute(
        "UPDATE articles SET restricted = 0, scope = '' "
        "WHERE id IN (SELECT value FROM json_each(?))",
        (every,),
    )
    await tx.execute(
        "DELETE FROM article_guilds WHERE article_id IN (SELECT value FROM json_each(?))", (every,)
    )
    return counts
