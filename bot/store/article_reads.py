"""ArticleReads: articles as domain objects, with their topics, related coverage and servers.

The read half of the archive: services that only show or post articles need nothing else
(``bot.store.articles.ArticleStore`` adds the ingest writes).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from bot.domain.delivery import POSTED_SQL
from bot.domain.models import Article
from bot.store.rows import article_from_rows, related_item
from bot.store.sql import Db
from bot.store.visibility import visible


class ArticleReads:
    """Explicit SQL for reading the archive. Returns domain objects, never rows."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def count(self) -> int:
        value = await self.db.fetch_value("SELECT count(*) FROM articles")
        return int(value)

    async def get(self, article_id: int) -> Article | None:
        found = await self._load("id", (article_id,))
        return found[0][0] if found else None

    async def linking_to(
        self, article_id: int, limit: int = 50, *, guild: int | None
    ) -> list[Article]:
        """Stored articles ``guild`` may see whose related coverage points at this one (the
        reverse links)."""
        rows = await self.db.fetch(
            _LINKING_TO,
            {"id": article_id, "limit": limit, "guild": guild},
        )
        found = await self._load("ids", (json.dumps([r[0] for r in rows]),))
        return [article for article, _ in found]

    async def get_many(self, ids: Sequence[int]) -> list[Article]:
        found = await self._load("ids", (json.dumps(list(ids)),))
        by_id = {article.id: article for article, _ in found}
        return [by_id[i] for i in ids if i in by_id]

    async def iter_all(self, page: int = 500) -> AsyncIterator[tuple[Article, bool]]:
        """Every article in id order, and whether it was posted anywhere; a page at a time."""
        last = 0
        while True:
            found = await self._load("page", (last, page))
            if not found:
                return
            for article, posted in found:
                yield article, posted
            last = found[-1][0].id or last

    async def _load(self, where: str, params: Sequence[Any]) -> list[tuple[Article, bool]]:
        """Articles matching one of the fixed WHERE clauses below, with their topics and
        related coverage (one query), and whether each was posted anywhere."""
        rows = await self.db.fetch(_SELECT_ARTICLES[where], params)
        return [
            (
                article_from_rows(
                    r,
                    [label for _, label in sorted(json.loads(r["topic_labels"]))],
                    [related_item(*item[1:]) for item in sorted(json.loads(r["related_rows"]))],
                ),
                bool(r["posted"]),
            )
            for r in rows
        ]


_ARTICLE_WITH_POSTED = f"""
SELECT a.*, EXISTS (
    SELECT 1 FROM deliveries d WHERE d.article_id = a.id AND d.state IN ({POSTED_SQL})
) AS posted,
(SELECT json_group_array(json_array(t.position, t.label)) FROM article_topics t
 WHERE t.article_id = a.id) AS topic_labels,
(SELECT json_group_array(json_array(r.position, r.url, r.title, r.provider_name,
        r.published_at, r.quality, json(r.data_json)))
 FROM related r WHERE r.article_id = a.id) AS related_rows,
CASE WHEN a.restricted THEN (SELECT json_group_array(g.guild_id) FROM article_guilds g
 WHERE g.article_id = a.id) END AS servers
FROM articles a
"""  # noqa: S608 - constant fragments
_LINKING_TO = f"""
SELECT DISTINCT r.article_id FROM related r JOIN articles a ON a.id = r.article_id
WHERE r.linked_article_id = :id AND {visible("a.id")} LIMIT :limit
"""  # noqa: S608 - constant fragments
# Constant SQL (a shared SELECT plus a fixed WHERE clause); values are bound parameters.
_SELECT_ARTICLES = {
    "id": _ARTICLE_WITH_POSTED + "WHERE a.id = ?",
    "ids": _ARTICLE_WITH_POSTED + "WHERE a.id IN (SELECT value FROM json_each(?))",  # noqa: S608
    "page": _ARTICLE_WITH_POSTED + "WHERE a.id > ? ORDER BY a.id LIMIT ?",
}
