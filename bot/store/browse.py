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
from bot.store.sql import Db
from bot.store.times import db_time, parse_db_time
from bot.store.visibility import GUILD_TOPIC_EXTRA, scoped_match, visible

Sort = Literal["quality", "recent"]

# Search ranks the newest this-many matches of a query (see bot.domain.search); a query with
# fewer matches is ranked completely.
RANKED_MATCHES = 1000
_SEARCHED = "{title excerpt topics_text provider_name}"  # what /news search reads (not scope)
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
_SEEN = visible("a.id")  # every listing shows only what :guild may see (store.visibility)
# Withdrawn articles (gone from their source) are hidden from every listing: a page walks its
# index in order and skips them, so a page is full however many there are.
_TOPIC_BEST = f"""
SELECT {_SUMMARY} FROM article_topics t JOIN articles a ON a.id = t.article_id
WHERE t.topic_id = :topic AND a.withdrawn_at IS NULL AND {_SEEN}
ORDER BY t.quality DESC, t.published_at DESC LIMIT :limit OFFSET :offset
"""  # noqa: S608 - constant fragments
_TOPIC_RECENT = f"""
SELECT {_SUMMARY} FROM article_topics t JOIN articles a ON a.id = t.article_id
WHERE t.topic_id = :topic AND a.withdrawn_at IS NULL AND {_SEEN}
ORDER BY t.published_at DESC LIMIT :limit OFFSET :offset
"""  # noqa: S608 - constant fragments
_LATEST = f"""
SELECT {_SUMMARY} FROM articles a WHERE a.withdrawn_at IS NULL AND {_SEEN}
ORDER BY a.published_at DESC LIMIT :limit OFFSET :offset
"""  # noqa: S608 - constant fragments
# The full-text queries leave out what the server may not see before their LIMIT: their
# MATCH carries its scope (store.visibility.scoped_match).
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
SELECT {_SUMMARY} FROM articles a WHERE a.id IN (SELECT value FROM json_each(:ids))
AND a.withdrawn_at IS NULL AND {_SEEN}
"""  # noqa: S608 - constant fragments
_TITLE_MATCHES = f"""
SELECT {_SUMMARY} FROM (
    SELECT rowid AS id FROM titles_fts WHERE titles_fts MATCH :query
    AND rowid NOT IN (SELECT id FROM articles WHERE withdrawn_at IS NOT NULL)
    ORDER BY rowid DESC LIMIT :limit
) m JOIN articles a ON a.id = m.id
WHERE a.withdrawn_at IS NULL
ORDER BY a.id DESC
"""  # noqa: S608 - constant fragments
_SAME_TOPIC_WINDOW = f"""
SELECT {_SUMMARY} FROM article_topics t JOIN articles a ON a.id = t.article_id
WHERE t.topic_id IN (SELECT value FROM json_each(:topics))
AND t.published_at BETWEEN :start AND :end
AND a.withdrawn_at IS NULL AND {_SEEN}
ORDER BY t.published_at DESC LIMIT :limit
"""  # noqa: S608 - constant fragments
_VISIBLE = f"SELECT EXISTS (SELECT 1 FROM articles a WHERE a.id = :id AND {_SEEN})"  # noqa: S608
# Topics with the articles :guild may see: the global count plus the server's own.
_COUNTED_TOPICS = f"""
WITH extra AS MATERIALIZED ({GUILD_TOPIC_EXTRA}),
counted AS (
    SELECT k.key AS key, k.name AS name, k.article_count + coalesce(e.n, 0) AS n
    FROM topics k LEFT JOIN extra e ON e.topic_id = k.id
)
"""  # noqa: S608 - constant fragments
_GUILD_TOPICS = f"""{_COUNTED_TOPICS}
SELECT name, n FROM counted WHERE n > 0 ORDER BY n DESC, key LIMIT :limit OFFSET :offset
"""  # noqa: S608 - constant fragments
_GUILD_TOPIC_COUNT = f"{_COUNTED_TOPICS} SELECT count(*) FROM counted WHERE n > 0"  # noqa: S608
_GUILD_COMPLETE_TOPIC = f"""{_COUNTED_TOPICS}
SELECT name, n, instr(key, :key) > 1 AS kind FROM counted
WHERE instr(key, :key) > 0 AND n > 0 ORDER BY kind, n DESC LIMIT :limit
"""  # noqa: S608 - constant fragments


class BrowseStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    # ------------------------------------------------------------------ topics

    async def topic(self, name: str) -> tuple[int, str] | None:
        """(id, display name) of a topic, matched case-insensitively."""
        row = await self.db.fetch_one(
            "SELECT id, name FROM topics WHERE key = ?", (topic_key(name),)
        )
        return (row[0], row[1]) if row else None

    async def topics(
        self, limit: int = 1000, offset: int = 0, *, guild: int | None
    ) -> list[TopicCount]:
        """Topics with articles ``guild`` may see, biggest first."""
        params = {"limit": limit, "offset": offset, "guild": guild}
        if not await self._has_own(guild):
            rows = await self.db.fetch(
                "SELECT name, article_count FROM topics WHERE article_count > 0 "
                "ORDER BY article_count DESC, key LIMIT :limit OFFSET :offset",
                params,
            )
        else:
            rows = await self.db.fetch(
                _GUILD_TOPICS,
                params,
            )
        return [TopicCount(r[0], r[1]) for r in rows]

    async def topic_count(self, *, guild: int | None) -> int:
        if not await self._has_own(guild):
            value = await self.db.fetch_value("SELECT count(*) FROM topics WHERE article_count > 0")
        else:
            value = await self.db.fetch_value(_GUILD_TOPIC_COUNT, {"guild": guild})
        return int(value)

    async def complete_topic(
        self, typed: str, limit: int = 25, *, guild: int | None
    ) -> list[TopicCount]:
        """Topics starting with what was typed (then containing it), biggest first."""
        key = topic_key(typed)
        if not key:
            return await self.topics(limit, guild=guild)
        params = {"key": key, "limit": limit, "guild": guild}
        if not await self._has_own(guild):
            rows = await self.db.fetch(
                "SELECT name, article_count, 0 AS kind FROM topics "
                "WHERE key >= :key AND key < :key || char(1114111) AND article_count > 0 "
                "UNION ALL "
                "SELECT name, article_count, 1 FROM topics "
                "WHERE instr(key, :key) > 1 AND article_count > 0 "
                "ORDER BY kind, article_count DESC LIMIT :limit",
                params,
            )
        else:
            rows = await self.db.fetch(
                _GUILD_COMPLETE_TOPIC,
                params,
            )
        return [TopicCount(r[0], r[1]) for r in rows]

    async def _has_own(self, guild: int | None) -> bool:
        """Whether ``guild`` may see restricted articles (then its topic counts differ from
        the global ones)."""
        if guild is None:
            return False
        value = await self.db.fetch_value(
            "SELECT EXISTS (SELECT 1 FROM article_guilds WHERE guild_id = ?)", (guild,)
        )
        return bool(value)

    # ------------------------------------------------------------------ listings

    async def topic_page(
        self, topic_id: int, sort: Sort, limit: int, offset: int = 0, *, guild: int | None
    ) -> list[ArticleSummary]:
        sql = _TOPIC_BEST if sort == "quality" else _TOPIC_RECENT
        params = {"topic": topic_id, "limit": limit, "offset": offset, "guild": guild}
        return [_summary(r) for r in await self.db.fetch(sql, params)]

    async def latest(
        self, limit: int, offset: int = 0, *, guild: int | None
    ) -> list[ArticleSummary]:
        params = {"limit": limit, "offset": offset, "guild": guild}
        return [_summary(r) for r in await self.db.fetch(_LATEST, params)]

    async def search(self, query: str, topic_id: int | None, *, guild: int | None) -> list[Match]:
        """The newest RANKED_MATCHES matches ``guild`` may see, unranked (bot.domain.search
        ranks them).

        ``query`` is an FTS5 query built by :func:`fts_query` (never raw user text).
        """
        rows = await self.db.fetch(
            _SEARCH,
            {
                "query": scoped_match(query, _SEARCHED, guild),
                "ranked": RANKED_MATCHES,
                "topic": topic_id,
            },
        )
        return [Match(r[0], r[1], r[2], r[3], parse_db_time(r[4])) for r in rows]

    async def summaries(self, ids: Sequence[int], *, guild: int | None) -> list[ArticleSummary]:
        """Summaries of these articles (those ``guild`` may see), in the order of ``ids``."""
        rows = await self.db.fetch(_BY_IDS, {"ids": json.dumps(list(ids)), "guild": guild})
        found = {r["id"]: _summary(r) for r in rows}
        return [found[i] for i in ids if i in found]

    async def visible(self, article_id: int, *, guild: int | None) -> bool:
        """Whether ``guild`` may see this article (withdrawn or not)."""
        value = await self.db.fetch_value(
            _VISIBLE,
            {"id": article_id, "guild": guild},
        )
        return bool(value)

    async def complete_article(
        self, typed: str, limit: int = 25, *, guild: int | None
    ) -> list[ArticleSummary]:
        """Newest articles ``guild`` may see whose title has every typed word, the last one as
        a prefix.

        A prefix of exactly three letters rides FTS5's prefix index. A longer one would make
        FTS5 merge the posting lists of every word it starts (8 ms for "learning" at a million
        articles), so the finished word is looked up first, and only when that leaves room,
        the newest titles matching its first three letters are filtered for the full prefix.
        """
        words = query_words(typed)
        if not words:
            return await self.latest(limit, guild=guild)
        head = " ".join(f'"{w}"' for w in words[:-1][:11])
        last = words[-1]
        if len(last) <= MIN_PREFIX:
            tail = f'"{last}"*' if len(last) == MIN_PREFIX else f'"{last}"'
            return await self._title_matches(f"{head} {tail}", limit, guild)
        found = await self._title_matches(f'{head} "{last}"', limit, guild)
        if len(found) >= limit:
            return found
        wanted = last.casefold()
        seen = {a.id for a in found}
        for summary in await self._title_matches(
            f'{head} "{last[:MIN_PREFIX]}"*', PREFIX_SCAN, guild
        ):
            if summary.id not in seen and any(
                w.casefold().startswith(wanted) for w in _WORD.findall(summary.title)
            ):
                found.append(summary)
        found.sort(key=lambda a: a.id, reverse=True)
        return found[:limit]

    async def _title_matches(
        self, query: str, limit: int, guild: int | None
    ) -> list[ArticleSummary]:
        params = {"query": scoped_match(query.strip(), "{title}", guild), "limit": limit}
        return [_summary(r) for r in await self.db.fetch(_TITLE_MATCHES, params)]

    async def near_in_time(
        self,
        topic_ids: Sequence[int],
        start: datetime,
        end: datetime,
        limit: int,
        *,
        guild: int | None,
    ) -> list[ArticleSummary]:
        """Articles ``guild`` may see in any of the topics published between start and end,
        newest first."""
        params = {
            "topics": json.dumps(list(topic_ids)),
            "start": db_time(start),
            "end": db_time(end),
            "limit": limit,
            "guild": guild,
        }
        return [_summary(r) for r in await self.db.fetch(_SAME_TOPIC_WINDOW, params)]

    async def topic_ids_of(self, article_id: int) -> list[int]:
        rows = await self.db.fetch(
            "SELECT topic_id FROM article_topics WHERE article_id = ?", (article_id,)
        )
        return [r[0] for r in rows]
