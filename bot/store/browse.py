"""Read-only queries behind the slash commands: topics, pages, search, autocomplete.

Every query is one aiosqlite call on the reader connection and rides an index (see the
migration): a topic page walks ``article_topics_best``/``_recent``, autocomplete ranges over
``topics.key`` or the FTS5 prefix index, search ranks only the newest matches (ranking every
match of a common word costs 150 ms to 1 s at a million articles; the newest few thousand, a few
milliseconds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.domain.search import Match
from bot.domain.similarity import STOPWORDS
from bot.domain.text import topic_key
from bot.store.db import Database
from bot.store.times import db_time, parse_db_time

Sort = Literal["quality", "recent"]

# Search ranks the newest this-many matches of a query (see bot.domain.search); a query with
# fewer matches is ranked completely.
RANKED_MATCHES = 1000
# Words shorter than this are not used as a prefix (a 1-2 letter prefix matches half the index).
MIN_PREFIX = 3
# How many newest titles a longer prefix is checked against, when its word alone is too rare.
PREFIX_SCAN = 400
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """What a listing shows about an article."""

    id: int
    url: str
    title: str
    provider: str | None
    published_at: datetime
    quality: float | None
    type: str = "article"


@dataclass(frozen=True, slots=True)
class TopicCount:
    name: str
    articles: int


def query_words(text: str) -> list[str]:
    """The words of what a user typed, without stopwords ("the", "and"...) unless that is all
    there is: requiring a word found in most articles only makes the query slower."""
    words = _WORD.findall(text)
    kept = [w for w in words if w.casefold() not in STOPWORDS]
    if kept and words and words[-1].casefold() in STOPWORDS and len(words[-1]) >= MIN_PREFIX:
        kept.append(words[-1])  # the last word may be the start of a longer one ("the" -> theory)
    return kept or words


def fts_query(text: str, *, prefix_last: bool = False) -> str | None:
    """User text as a safe FTS5 query: every word quoted (so OR, NEAR, *, quotes and
    parentheses are only ever searched for literally), all words required. None: no words."""
    words = query_words(text)
    if not words:
        return None
    terms = [f'"{w}"' for w in words[:12]]
    if prefix_last and len(words[-1]) >= MIN_PREFIX and len(words) <= 12:
        terms[-1] = f'"{words[-1]}"*'
    return " ".join(terms)


def _summary(row: Any) -> ArticleSummary:
    return ArticleSummary(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        provider=row["provider_name"],
        published_at=parse_db_time(row["published_at"]),
        quality=row["quality"],
        type=row["type"],
    )


_SUMMARY = "a.id, a.url, a.title, a.provider_name, a.published_at, a.quality, a.type"
# Withdrawn articles (gone from their source) are hidden from every listing: a page walks its
# index in order and skips them, so a page is full however many there are.
_TOPIC_BEST = f"""
SELECT {_SUMMARY} FROM article_topics t JOIN articles a ON a.id = t.article_id
WHERE t.topic_id = ? AND a.withdrawn_at IS NULL
ORDER BY t.quality DESC, t.published_at DESC LIMIT ? OFFSET ?
"""  # noqa: S608 - constant fragments
_TOPIC_RECENT = f"""
SELECT {_SUMMARY} FROM article_topics t JOIN articles a ON a.id = t.article_id
WHERE t.topic_id = ? AND a.withdrawn_at IS NULL
ORDER BY t.published_at DESC LIMIT ? OFFSET ?
"""  # noqa: S608 - constant fragments
_LATEST = f"""
SELECT {_SUMMARY} FROM articles a WHERE a.withdrawn_at IS NULL
ORDER BY a.published_at DESC LIMIT ? OFFSET ?
"""  # noqa: S608 - constant fragments
_SEARCH = """
WITH newest AS (
    SELECT rowid AS id FROM articles_fts WHERE articles_fts MATCH :query
    AND rowid NOT IN (SELECT id FROM articles WHERE withdrawn_at IS NOT NULL)
    ORDER BY rowid DESC LIMIT :ranked
)
SELECT a.id, a.title, a.topics_text, a.provider_name, a.published_at
FROM newest n JOIN articles a ON a.id = n.id
WHERE a.withdrawn_at IS NULL AND (:topic IS NULL OR EXISTS (
    SELECT 1 FROM article_topics t WHERE t.article_id = a.id AND t.topic_id = :topic))
"""
_BY_IDS = f"""
SELECT {_SUMMARY} FROM articles a WHERE a.id IN (SELECT value FROM json_each(?))
AND a.withdrawn_at IS NULL
"""  # noqa: S608 - constant fragments
_TITLE_MATCHES = f"""
SELECT {_SUMMARY} FROM (
    SELECT rowid AS id FROM titles_fts WHERE titles_fts MATCH ?
    AND rowid NOT IN (SELECT id FROM articles WHERE withdrawn_at IS NOT NULL)
    ORDER BY rowid DESC LIMIT ?
) m JOIN articles a ON a.id = m.id
WHERE a.withdrawn_at IS NULL
ORDER BY a.id DESC
"""  # noqa: S608 - constant fragments
_SAME_TOPIC_WINDOW = f"""
SELECT {_SUMMARY} FROM article_topics t JOIN articles a ON a.id = t.article_id
WHERE t.topic_id IN (SELECT value FROM json_each(?)) AND t.published_at BETWEEN ? AND ?
AND a.withdrawn_at IS NULL
ORDER BY t.published_at DESC LIMIT ?
"""  # noqa: S608 - constant fragments


class BrowseStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ topics

    async def topic(self, name: str) -> tuple[int, str] | None:
        """(id, display name) of a topic, matched case-insensitively."""
        row = await self.db.fetch_one(
            "SELECT id, name FROM topics WHERE key = ?", (topic_key(name),)
        )
        return (row[0], row[1]) if row else None

    async def topics(self, limit: int = 1000, offset: int = 0) -> list[TopicCount]:
        rows = await self.db.fetch(
            "SELECT name, article_count FROM topics WHERE article_count > 0 "
            "ORDER BY article_count DESC, key LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [TopicCount(r[0], r[1]) for r in rows]

    async def topic_count(self) -> int:
        row = await self.db.fetch_one("SELECT count(*) FROM topics WHERE article_count > 0")
        return int(row[0])

    async def complete_topic(self, typed: str, limit: int = 25) -> list[TopicCount]:
        """Topics starting with what was typed (then containing it), biggest first."""
        key = topic_key(typed)
        if not key:
            return await self.topics(limit)
        rows = await self.db.fetch(
            "SELECT name, article_count, 0 AS kind FROM topics "
            "WHERE key >= :key AND key < :key || char(1114111) AND article_count > 0 "
            "UNION ALL "
            "SELECT name, article_count, 1 FROM topics "
            "WHERE instr(key, :key) > 1 AND article_count > 0 "
            "ORDER BY kind, article_count DESC LIMIT :limit",
            {"key": key, "limit": limit},
        )
        return [TopicCount(r[0], r[1]) for r in rows]

    # ------------------------------------------------------------------ listings

    async def topic_page(
        self, topic_id: int, sort: Sort, limit: int, offset: int = 0
    ) -> list[ArticleSummary]:
        sql = _TOPIC_BEST if sort == "quality" else _TOPIC_RECENT
        return [_summary(r) for r in await self.db.fetch(sql, (topic_id, limit, offset))]

    async def latest(self, limit: int, offset: int = 0) -> list[ArticleSummary]:
        return [_summary(r) for r in await self.db.fetch(_LATEST, (limit, offset))]

    async def search(self, query: str, topic_id: int | None) -> list[Match]:
        """The newest RANKED_MATCHES matches, unranked (bot.domain.search ranks them).

        ``query`` is an FTS5 query built by :func:`fts_query` (never raw user text).
        """
        rows = await self.db.fetch(
            _SEARCH, {"query": query, "ranked": RANKED_MATCHES, "topic": topic_id}
        )
        return [Match(r[0], r[1], r[2], r[3], parse_db_time(r[4])) for r in rows]

    async def summaries(self, ids: Sequence[int]) -> list[ArticleSummary]:
        """Summaries of these articles, in the order of ``ids``."""
        rows = await self.db.fetch(_BY_IDS, (json.dumps(list(ids)),))
        found = {r["id"]: _summary(r) for r in rows}
        return [found[i] for i in ids if i in found]

    async def complete_article(self, typed: str, limit: int = 25) -> list[ArticleSummary]:
        """Newest articles whose title has every typed word, the last one as a prefix.

        A prefix of exactly three letters rides FTS5's prefix index. A longer one would make
        FTS5 merge the posting lists of every word it starts (8 ms for "learning" at a million
        articles), so the finished word is looked up first, and only when that leaves room,
        the newest titles matching its first three letters are filtered for the full prefix.
        """
        words = query_words(typed)
        if not words:
            return await self.latest(limit)
        head = " ".join(f'"{w}"' for w in words[:-1][:11])
        last = words[-1]
        if len(last) <= MIN_PREFIX:
            tail = f'"{last}"*' if len(last) == MIN_PREFIX else f'"{last}"'
            return await self._title_matches(f"{head} {tail}", limit)
        found = await self._title_matches(f'{head} "{last}"', limit)
        if len(found) >= limit:
            return found
        wanted = last.casefold()
        seen = {a.id for a in found}
        for summary in await self._title_matches(f'{head} "{last[:MIN_PREFIX]}"*', PREFIX_SCAN):
            if summary.id not in seen and any(
                w.casefold().startswith(wanted) for w in _WORD.findall(summary.title)
            ):
                found.append(summary)
        found.sort(key=lambda a: a.id, reverse=True)
        return found[:limit]

    async def _title_matches(self, query: str, limit: int) -> list[ArticleSummary]:
        rows = await self.db.fetch(_TITLE_MATCHES, (query.strip(), limit))
        return [_summary(r) for r in rows]

    async def near_in_time(
        self, topic_ids: Sequence[int], start: datetime, end: datetime, limit: int
    ) -> list[ArticleSummary]:
        """Articles in any of the topics published between start and end, newest first."""
        rows = await self.db.fetch(
            _SAME_TOPIC_WINDOW, (json.dumps(list(topic_ids)), db_time(start), db_time(end), limit)
        )
        return [_summary(r) for r in rows]

    async def topic_ids_of(self, article_id: int) -> list[int]:
        rows = await self.db.fetch(
            "SELECT topic_id FROM article_topics WHERE article_id = ?", (article_id,)
        )
        return [r[0] for r in rows]
