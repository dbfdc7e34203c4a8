"""Candidate queries: the articles that may go to a channel now, best first (a query planner).

Every hard filter of a subscription is applied here in SQL, so that LIMIT returns articles that
can go; ``bot.domain.selection.rule_out`` states the same rules in Python for the preview and
for ``select`` (tests/store/test_candidates.py proves both agree, for every plan below).

Two steps. The first walks one index per topic and touches nothing else but the deliveries
primary key: quality, date and "postable" are copied into the index rows. The second reads
only the best articles it found, through the filters that need the article itself (topics
to exclude, types, providers, keywords: bot.domain.keywords, through an SQL function), with
their topic keys and the story links the same-story rule needs. When those filters throw too
many away, the first step is run again with a bigger limit (up to ``Plans.max_scan`` rows, so
that a rare keyword does not starve a run).

Which index the first step walks is chosen per query: with a ``max_age`` window holding at
most ``Plans.window`` candidates, the window is read whole from ``*_postable_recent`` and
sorted; a wider window (or none) walks ``*_postable_best`` in quality order. (With a day's
window over a topic of 300,000 articles, the walk costs 200 ms and the window read a fraction
of a millisecond; with a wide window it is the other way round.) A short list of allowed
providers reads those providers' articles instead.

However many topics a subscription has, a run asks three queries: the window sizes (when
there is a ``max_age`` or a provider list), every topic's walk in one statement, the second
step; a widened scan repeats the last two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from bot.domain.delivery import POSTED_SQL
from bot.domain.keywords import to_json
from bot.domain.selection import Candidate, Policy
from bot.domain.text import topic_key
from bot.store.sql import Db
from bot.store.times import db_time, parse_db_time
from bot.store.visibility import visible


@dataclass(frozen=True, slots=True)
class Plans:
    """Where the planner switches plans (tests make them small to reach every plan)."""

    window: int = 2000  # a max_age window this small is read whole from the *_recent index
    provider_window: int = 10000  # a provider list's articles read directly up to here
    headroom: int = 4  # first-step rows per wanted row, when second-step filters may drop some
    max_scan: int = 50000  # the widening scan stops here


_NOT_DELIVERED = (
    "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.channel_id = :channel AND d.article_id = {id})"
)


def _scope(topic: str | None) -> str:
    """The rows of one topic (article_topics; ``topic`` names the parameter its key is bound
    to), or of every article (None)."""
    if topic is None:
        return ""
    return f"topic_id = (SELECT id FROM topics WHERE key = :{topic}) AND "  # noqa: S608


def _table(topic: str | None) -> tuple[str, str]:
    return ("article_topics", "article_id") if topic is not None else ("articles", "id")


def _walk(topic: str | None, plan: str) -> str:
    """One scope's first step: an index walk, best quality then newest first."""
    table, key = _table(topic)
    return (
        f"SELECT {key} AS id, quality, published_at FROM {table} "  # noqa: S608
        f"INDEXED BY {table}_postable_{plan} "
        f"WHERE {_scope(topic)}postable = 1 AND published_at >= :cutoff "
        "AND coalesce(quality, 0) >= :min_quality "
        f"AND {_NOT_DELIVERED.format(id=f'{table}.{key}')} "
        f"AND {visible(f'{table}.{key}')} "
        "ORDER BY quality DESC, published_at DESC LIMIT :scan"
    )


def _window_size(topic: str | None) -> str:
    table, _ = _table(topic)
    return (
        "SELECT count(*) FROM (SELECT 1 FROM "  # noqa: S608
        f"{table} INDEXED BY {table}_postable_recent "
        f"WHERE {_scope(topic)}postable = 1 AND published_at >= :cutoff LIMIT :window)"
    )


@cache
def _first_step(plans: tuple[str, ...], topics: bool) -> str:
    """Every scope's walk in one statement, each row labelled with its scope's number.

    Each walk keeps its own LIMIT (a compound of limited subqueries is not flattened), so a
    big topic costs no more here than alone.
    """
    names: list[str | None] = [f"t{i}" for i in range(len(plans))] if topics else [None]
    return " UNION ALL ".join(
        f"SELECT {i} AS scope, * FROM ({_walk(name, plan)})"  # noqa: S608
        for i, (name, plan) in enumerate(zip(names, plans, strict=True))
    )


@cache
def _sizes(scopes: int, topics: bool, windows: bool, providers: bool) -> str:
    """How many candidates each scope's max_age window holds (up to ``:window`` + 1), and how
    many articles the provider list has (scope -1), in one statement."""
    parts = [f"SELECT -1 AS scope, ({_PROVIDERS_SIZE}) AS size"] if providers else []
    if windows:
        names: list[str | None] = [f"t{i}" for i in range(scopes)] if topics else [None]
        parts += [f"SELECT {i}, ({_window_size(n)})" for i, n in enumerate(names)]
    return " UNION ALL ".join(parts)


# Only a few providers allowed: their articles in the window, whatever the topic.
_PROVIDER_IDS = """
    SELECT id FROM articles INDEXED BY articles_postable_provider
    WHERE provider_key IN (SELECT value FROM json_each(:providers))
    AND postable = 1 AND published_at >= :cutoff
    UNION
    SELECT id FROM articles INDEXED BY articles_postable_domain
    WHERE domain_key IN (SELECT value FROM json_each(:providers))
    AND postable = 1 AND published_at >= :cutoff
"""
_PROVIDERS_SIZE = f"SELECT count(*) FROM ({_PROVIDER_IDS} LIMIT :provider_window)"  # noqa: S608
_BY_PROVIDERS = f"""
SELECT a.id, a.quality, a.published_at FROM articles a
WHERE a.id IN ({_PROVIDER_IDS})
    AND coalesce(a.quality, 0) >= :min_quality
    AND {_NOT_DELIVERED.format(id="a.id")}
    AND {visible("a.id")}
    AND (:topics = '[]' OR EXISTS (
        SELECT 1 FROM article_topics t JOIN topics k ON k.id = t.topic_id
        WHERE t.article_id = a.id AND k.key IN (SELECT value FROM json_each(:topics))))
ORDER BY a.quality DESC, a.published_at DESC LIMIT :scan
"""  # noqa: S608 - constant fragments, values are bound parameters

# The second step's filters: what needs the article itself (keywords first: a rare keyword
# rejects most rows, and the others need not be looked at then).
_ARTICLE_FILTERS = """
    ((:keywords = '[]' AND :exclude_keywords = '[]')
         OR newsdesk_keywords(a.title, a.excerpt, :keywords, :exclude_keywords))
    AND NOT EXISTS (
        SELECT 1 FROM article_topics x JOIN topics k ON k.id = x.topic_id
        WHERE x.article_id = a.id AND k.key IN (SELECT value FROM json_each(:excluded)))
    AND (:types = '[]' OR lower(a.type) IN (SELECT value FROM json_each(:types)))
    AND lower(a.type) NOT IN (SELECT value FROM json_each(:exclude_types))
    AND (:providers = '[]'
         OR a.provider_key IN (SELECT value FROM json_each(:providers))
         OR a.domain_key IN (SELECT value FROM json_each(:providers)))
    AND coalesce(a.provider_key, '') NOT IN (SELECT value FROM json_each(:exclude_providers))
    AND coalesce(a.domain_key, '') NOT IN (SELECT value FROM json_each(:exclude_providers))
"""


def _described(best: str) -> str:
    """Candidates for the ids a ``best(id, rank)`` CTE yields: the article's columns, whether
    it was delivered to the channel, its topic keys, its story links (stored articles linked by
    related coverage, either way) and the first of those already posted in the channel.

    The links are read once for all the ids and grouped (a correlated subquery over them
    would read the related rows again for every candidate: 2.5 times slower at 1M articles).
    """
    return f"""
WITH best AS MATERIALIZED ({best}),
links AS MATERIALIZED (
    SELECT r.article_id AS article_id, r.linked_article_id AS other FROM related r
    WHERE r.article_id IN (SELECT id FROM best) AND r.linked_article_id IS NOT NULL
    UNION
    SELECT r.linked_article_id, r.article_id FROM related r
    WHERE r.linked_article_id IN (SELECT id FROM best)
),
story AS MATERIALIZED (
    SELECT l.article_id AS article_id, json_group_array(l.other) AS story,
        min(CASE WHEN d.article_id IS NOT NULL THEN l.other END) AS same_story_as
    FROM links l LEFT JOIN deliveries d
        ON d.channel_id = :channel AND d.article_id = l.other AND d.state IN ({POSTED_SQL})
    GROUP BY l.article_id
)
SELECT a.id, a.url, a.title, a.excerpt, a.published_at, a.quality, a.type, a.provider_name,
    a.provider_domain, a.source_published, a.withdrawn_at IS NOT NULL AS withdrawn, b.rank,
    s.story, s.same_story_as,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.channel_id = :channel AND d.article_id = a.id)
        AS delivered,
    (SELECT json_group_array(k.key) FROM article_topics t JOIN topics k ON k.id = t.topic_id
     WHERE t.article_id = a.id) AS topic_keys
FROM best b JOIN articles a ON a.id = b.id LEFT JOIN story s ON s.article_id = b.id
ORDER BY b.rank
"""  # noqa: S608 - constant fragments, values are bound parameters


# The second step: the first step's ids (in its order), through the article filters.
_SECOND_STEP = _described(
    f"""
    SELECT a.id AS id, f.key AS rank FROM json_each(:ids) f JOIN articles a ON a.id = f.value
    WHERE {_ARTICLE_FILTERS} ORDER BY f.key LIMIT :limit"""  # noqa: S608
)
# The newest articles of one topic (or of all), unfiltered: the preview explains each of them.
_RECENT_IN_TOPIC = _described(
    f"""
    SELECT t.article_id AS id, row_number() OVER (ORDER BY t.published_at DESC) AS rank
    FROM article_topics t WHERE t.topic_id = (SELECT id FROM topics WHERE key = :topic)
    AND {visible("t.article_id")}
    ORDER BY t.published_at DESC LIMIT :limit"""  # noqa: S608
)
_RECENT_ANY_TOPIC = _described(
    f"""
    SELECT a.id AS id, row_number() OVER (ORDER BY a.published_at DESC) AS rank
    FROM articles a WHERE {visible("a.id")} ORDER BY a.published_at DESC LIMIT :limit"""  # noqa: S608
)


def _keys(values: Sequence[str]) -> str:
    return json.dumps(sorted({topic_key(v) for v in values if v.strip()}))


class CandidateQueries:
    def __init__(self, db: Db, plans: Plans | None = None) -> None:
        self.db = db
        self.plans = plans or Plans()

    async def candidates(
        self, channel_id: int, policy: Policy, now: datetime, limit: int, *, guild: int | None
    ) -> list[Candidate]:
        """Up to ``limit`` articles that may go to ``channel_id`` (of server ``guild``) now,
        best first, with what the same-story rule needs. Only articles the server may see
        (store.visibility) are candidates."""
        cutoff = policy.cutoff(now)
        params: dict[str, Any] = {
            "channel": channel_id,
            "guild": guild,
            "cutoff": db_time(cutoff) if cutoff else "",
            "min_quality": policy.min_quality,
            "excluded": json.dumps(sorted(policy.exclude_topics)),
            "types": json.dumps(sorted(policy.types)),
            "exclude_types": json.dumps(sorted(policy.exclude_types)),
            "providers": json.dumps(sorted(policy.providers)),
            "exclude_providers": json.dumps(sorted(policy.exclude_providers)),
            "topics": json.dumps(sorted(policy.topics)),
            "keywords": to_json(policy.keywords),
            "exclude_keywords": to_json(policy.exclude_keywords),
            "limit": limit,
            **_names(sorted(policy.topics)),  # each walk's topic (see _first_step)
        }
        filtered = bool(
            policy.exclude_topics
            or policy.types
            or policy.exclude_types
            or policy.providers
            or policy.exclude_providers
            or policy.keywords
            or policy.exclude_keywords
        )
        scan = limit * self.plans.headroom if filtered else limit
        sizes = await self._sizes(policy, params)  # they do not depend on the scan
        rows: list[Any] = []
        checked: set[int] = set()  # ids that went through the second step already
        while True:
            ids, complete = await self._first_step(policy, params, sizes, scan)
            # A wider scan's best ids are the narrower one's and then worse ones (see
            # _first_step): only the new ones need the article filters.
            fresh = [i for i in ids if i not in checked]
            if fresh:
                wanted = {"ids": json.dumps(fresh), "limit": limit - len(rows)}
                rows += await self.db.fetch(_SECOND_STEP, {**params, **wanted})
            checked.update(fresh)
            if len(rows) >= limit or complete or scan >= self.plans.max_scan:
                return [_candidate(row) for row in rows]
            scan = min(scan * 8, self.plans.max_scan)  # too many filtered out: look further

    async def _sizes(self, policy: Policy, params: dict[str, Any]) -> dict[int, int]:
        """Each scope's window size (capped; -1: the allowed providers'), when it matters."""
        if not (policy.providers or policy.max_age is not None):
            return {}
        topics = sorted(policy.topics)
        sql = _sizes(
            len(topics) or 1, bool(topics), policy.max_age is not None, bool(policy.providers)
        )
        bounds = {
            "window": self.plans.window + 1,
            "provider_window": self.plans.provider_window + 1,
        }
        return dict(await self.db.fetch(sql, {**params, **bounds}))

    async def _first_step(
        self, policy: Policy, params: dict[str, Any], sizes: dict[int, int], scan: int
    ) -> tuple[list[int], bool]:
        """Ids of the best candidates, best first; and whether nothing was left unread.

        With several topics, each topic's walk stops after ``scan`` rows; an article of a
        topic whose walk stopped may still rank above the other topics' rows that were read.
        So only the rows that rank at least as high as the last row of every stopped walk are
        returned: those are the true best of all topics together.
        """
        topics = sorted(policy.topics)
        scopes = len(topics) or 1
        if policy.providers and sizes[-1] <= self.plans.provider_window:
            ids = [r[0] for r in await self.db.fetch(_BY_PROVIDERS, {**params, "scan": scan})]
            return ids, len(ids) < scan
        plans = tuple(
            "recent" if sizes.get(i, self.plans.window + 1) <= self.plans.window else "best"
            for i in range(scopes)
        )
        rows = await self.db.fetch(_first_step(plans, bool(topics)), {**params, "scan": scan})
        found: dict[int, tuple[bool, Any, str]] = {}
        read = [0] * scopes
        last: list[tuple[bool, Any, str] | None] = [None] * scopes
        for scope, article_id, quality, published_at in rows:
            rank = (quality is not None, quality or 0, published_at)
            found[article_id] = rank
            read[scope] += 1
            last[scope] = rank
        stopped = [rank for n, rank in zip(read, last, strict=True) if n >= scan and rank]
        floor = max(stopped, default=None)
        ranked = sorted(found, key=lambda article_id: found[article_id], reverse=True)
        if floor is not None:
            ranked = [article_id for article_id in ranked if found[article_id] >= floor]
        return ranked, floor is None

    async def recent(
        self, channel_id: int, topics: Sequence[str], limit: int, *, guild: int | None
    ) -> list[Candidate]:
        """The newest articles of these topics (or of all) that server ``guild`` may see,
        otherwise unfiltered, seen from a channel."""
        params = {"channel": channel_id, "limit": limit, "guild": guild}
        found: dict[int, Any] = {}
        if topics:
            for topic in json.loads(_keys(topics)):
                for row in await self.db.fetch(_RECENT_IN_TOPIC, {**params, "topic": topic}):
                    found[row["id"]] = row
        else:
            for row in await self.db.fetch(_RECENT_ANY_TOPIC, params):
                found[row["id"]] = row
        newest = sorted(found.values(), key=lambda r: r["published_at"], reverse=True)[:limit]
        return [_candidate(row) for row in newest]


def _names(topics: list[str]) -> dict[str, str]:
    """The topics' query parameters, in the order of the scopes they label."""
    return {f"t{i}": topic for i, topic in enumerate(topics)}


def _candidate(row: Any) -> Candidate:
    story = frozenset(json.loads(row["story"])) if row["story"] else frozenset()
    return Candidate(
        article_id=row["id"],
        url=row["url"],
        title=row["title"],
        published_at=parse_db_time(row["published_at"]),
        quality=row["quality"],
        type=row["type"],
        provider_name=row["provider_name"],
        provider_domain=row["provider_domain"],
        topic_keys=frozenset(json.loads(row["topic_keys"])),
        source_published=bool(row["source_published"]),
        delivered=bool(row["delivered"]),
        same_story_as=row["same_story_as"],
        story_ids=story,
        excerpt=row["excerpt"],
        withdrawn=bool(row["withdrawn"]),
    )
