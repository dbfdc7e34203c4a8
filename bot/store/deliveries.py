"""Deliveries: the per-channel outbox that makes publishing exactly-once, and candidate queries.

One row per (channel, article). The intent is recorded *before* a post is sent (state
``pending``), the message id after (``sent``). A ``pending`` row found later means the outcome
is unknown and must be reconciled against the channel's history before anything is resent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.selection import Candidate, Policy
from bot.store.db import Database, db_time, parse_db_time

# States that mean "this article may be in the channel": never post it there again, and count
# it as posted for the same-story rule and for export.
POSTED_STATES = ("sent", "pending", "unconfirmed")


@dataclass(frozen=True, slots=True)
class Delivery:
    channel_id: int
    article_id: int
    subscription_id: int | None
    state: str
    nonce: str
    intent_at: datetime
    last_attempt_at: datetime
    attempts: int
    next_attempt_at: datetime | None = None
    message_id: int | None = None
    sent_at: datetime | None = None
    error: str | None = None


def _delivery(row: Any) -> Delivery:
    return Delivery(
        channel_id=row["channel_id"],
        article_id=row["article_id"],
        subscription_id=row["subscription_id"],
        state=row["state"],
        nonce=row["nonce"],
        intent_at=parse_db_time(row["intent_at"]),
        last_attempt_at=parse_db_time(row["last_attempt_at"]),
        attempts=row["attempts"],
        next_attempt_at=parse_db_time(row["next_attempt_at"]) if row["next_attempt_at"] else None,
        message_id=row["message_id"],
        sent_at=parse_db_time(row["sent_at"]) if row["sent_at"] else None,
        error=row["error"],
    )


# Candidate queries. Every hard filter is in SQL so that LIMIT returns articles that can go;
# the pure selection re-checks them, applies the same-story rule and explains what it skips.
#
# Each plan has two steps. The first walks one index and touches nothing else but the
# deliveries primary key: quality, date and "postable" are copied into the index rows. The
# second reads only the articles it found, for the filters that need them (topics to exclude,
# types, providers). When those filters throw away too many, the first step is run again with a
# bigger limit. Which index the first step walks is chosen per query (see candidates).
_DELIVERED = """
    NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.channel_id = :channel AND d.article_id = {id})
"""
_TOPIC_BEST = f"""
SELECT article_id, quality, published_at
FROM article_topics INDEXED BY article_topics_postable_best
WHERE topic_id = :topic AND postable = 1 AND published_at >= :cutoff
    AND coalesce(quality, 0) >= :min_quality
    AND {_DELIVERED.format(id="article_topics.article_id")}
ORDER BY quality DESC, published_at DESC LIMIT :scan
"""  # noqa: S608 - constant fragments, values are bound parameters
_TOPIC_WINDOW = f"""
SELECT article_id, quality, published_at
FROM article_topics INDEXED BY article_topics_postable_recent
WHERE topic_id = :topic AND postable = 1 AND published_at >= :cutoff
    AND coalesce(quality, 0) >= :min_quality
    AND {_DELIVERED.format(id="article_topics.article_id")}
ORDER BY quality DESC, published_at DESC LIMIT :scan
"""  # noqa: S608 - constant fragments, values are bound parameters
_TOPIC_WINDOW_SIZE = """
SELECT count(*) FROM (
    SELECT 1 FROM article_topics INDEXED BY article_topics_postable_recent
    WHERE topic_id = :topic AND postable = 1 AND published_at >= :cutoff LIMIT :window
)
"""
_ANY_BEST = f"""
SELECT id, quality, published_at FROM articles INDEXED BY articles_postable_best
WHERE postable = 1 AND published_at >= :cutoff AND coalesce(quality, 0) >= :min_quality
    AND {_DELIVERED.format(id="articles.id")}
ORDER BY quality DESC, published_at DESC LIMIT :scan
"""  # noqa: S608 - constant fragments, values are bound parameters
_ANY_WINDOW = f"""
SELECT id, quality, published_at FROM articles INDEXED BY articles_postable_recent
WHERE postable = 1 AND published_at >= :cutoff AND coalesce(quality, 0) >= :min_quality
    AND {_DELIVERED.format(id="articles.id")}
ORDER BY quality DESC, published_at DESC LIMIT :scan
"""  # noqa: S608 - constant fragments, values are bound parameters
_ANY_WINDOW_SIZE = """
SELECT count(*) FROM (
    SELECT 1 FROM articles INDEXED BY articles_postable_recent
    WHERE postable = 1 AND published_at >= :cutoff LIMIT :window
)
"""
_COLUMNS = (
    "a.id, a.url, a.title, a.published_at, a.quality, a.type, a.provider_name, "
    "a.provider_domain, a.source_published"
)
# The second step: the articles found, through the filters that need the article itself.
_FILTERED = f"""
SELECT {_COLUMNS}, 0 AS delivered FROM articles a
WHERE a.id IN (SELECT value FROM json_each(:ids))
    AND NOT EXISTS (
        SELECT 1 FROM article_topics x
        WHERE x.article_id = a.id AND x.topic_id IN (SELECT value FROM json_each(:excluded)))
    AND (:types = '[]' OR lower(a.type) IN (SELECT value FROM json_each(:types)))
    AND lower(a.type) NOT IN (SELECT value FROM json_each(:exclude_types))
    AND (:providers = '[]'
         OR a.provider_key IN (SELECT value FROM json_each(:providers))
         OR a.domain_key IN (SELECT value FROM json_each(:providers)))
    AND coalesce(a.provider_key, '') NOT IN (SELECT value FROM json_each(:exclude_providers))
    AND coalesce(a.domain_key, '') NOT IN (SELECT value FROM json_each(:exclude_providers))
"""  # noqa: S608 - constant fragments, values are bound parameters
# Only a few providers allowed: their articles in the window, whatever the topic.
_PROVIDERS_SIZE = """
SELECT count(*) FROM (
    SELECT id FROM articles INDEXED BY articles_postable_provider
    WHERE provider_key IN (SELECT value FROM json_each(:providers))
    AND postable = 1 AND published_at >= :cutoff
    UNION
    SELECT id FROM articles INDEXED BY articles_postable_domain
    WHERE domain_key IN (SELECT value FROM json_each(:providers))
    AND postable = 1 AND published_at >= :cutoff
    LIMIT :window
)
"""
_BY_PROVIDERS = f"""
SELECT a.id, a.quality, a.published_at FROM articles a
WHERE a.id IN (
        SELECT id FROM articles INDEXED BY articles_postable_provider
        WHERE provider_key IN (SELECT value FROM json_each(:providers))
        AND postable = 1 AND published_at >= :cutoff
        UNION
        SELECT id FROM articles INDEXED BY articles_postable_domain
        WHERE domain_key IN (SELECT value FROM json_each(:providers))
        AND postable = 1 AND published_at >= :cutoff)
    AND coalesce(a.quality, 0) >= :min_quality
    AND {_DELIVERED.format(id="a.id")}
    AND (:topics = '[]' OR EXISTS (
        SELECT 1 FROM article_topics t
        WHERE t.article_id = a.id AND t.topic_id IN (SELECT value FROM json_each(:topics))))
ORDER BY a.quality DESC, a.published_at DESC LIMIT :scan
"""  # noqa: S608 - constant fragments, values are bound parameters
# A max_age window with at most this many candidates is read whole from the *_recent index;
# a wider one (or none) walks the *_best index in quality order instead.
WINDOW = 2000
# Reading a provider list's articles stays cheaper than walking a topic for them up to here.
PROVIDER_WINDOW = 10000
# The first step returns the limit times this, when second-step filters may throw rows away.
FILTER_HEADROOM = 4
MAX_SCAN = 50000

# The newest articles of the subscription's topics with no filter at all: the moderators'
# preview explains why each of them would or would not go.
_RECENT_IN_TOPIC = f"""
SELECT {_COLUMNS}, EXISTS (
    SELECT 1 FROM deliveries d WHERE d.channel_id = :channel AND d.article_id = a.id
) AS delivered
FROM article_topics t JOIN articles a ON a.id = t.article_id
WHERE t.topic_id = :topic ORDER BY t.published_at DESC LIMIT :limit
"""  # noqa: S608 - constant fragments, values are bound parameters
_RECENT_ANY_TOPIC = f"""
SELECT {_COLUMNS}, EXISTS (
    SELECT 1 FROM deliveries d WHERE d.channel_id = :channel AND d.article_id = a.id
) AS delivered
FROM articles a ORDER BY a.published_at DESC LIMIT :limit
"""  # noqa: S608 - constant fragments, values are bound parameters
_TOPIC_KEYS = """
SELECT t.article_id, k.key FROM article_topics t JOIN topics k ON k.id = t.topic_id
WHERE t.article_id IN (SELECT value FROM json_each(?))
"""
_STORY_LINKS = """
SELECT article_id, linked_article_id FROM related
WHERE article_id IN (SELECT value FROM json_each(:ids)) AND linked_article_id IS NOT NULL
UNION
SELECT linked_article_id, article_id FROM related
WHERE linked_article_id IN (SELECT value FROM json_each(:ids))
"""
_POSTED_AMONG = """
SELECT article_id FROM deliveries
WHERE channel_id = ? AND article_id IN (SELECT value FROM json_each(?))
AND state IN ('sent', 'pending', 'unconfirmed')
"""


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ candidates

    async def topic_ids(self, names: Sequence[str]) -> list[int]:
        from bot.domain.parse import topic_key

        if not names:
            return []
        rows = await self.db.fetch(
            "SELECT id FROM topics WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps([topic_key(n) for n in names]),),
        )
        return [r[0] for r in rows]

    async def candidates(
        self, channel_id: int, policy: Policy, topics: Sequence[str], now: datetime, limit: int
    ) -> list[Candidate]:
        """Articles that may go to ``channel_id`` now, best first, with their story links."""
        cutoff = policy.cutoff(now)
        topic_ids = await self.topic_ids(topics) if topics else []
        if topics and not topic_ids:
            return []  # none of its topics has an article yet
        params: dict[str, Any] = {
            "channel": channel_id,
            "cutoff": db_time(cutoff) if cutoff else "",
            "min_quality": policy.min_quality,
            "excluded": json.dumps(await self.topic_ids(sorted(policy.exclude_topics))),
            "types": json.dumps(sorted(policy.types)),
            "exclude_types": json.dumps(sorted(policy.exclude_types)),
            "providers": json.dumps(sorted(policy.providers)),
            "exclude_providers": json.dumps(sorted(policy.exclude_providers)),
            "topics": json.dumps(topic_ids),
        }
        filtered = bool(
            policy.exclude_topics
            or policy.types
            or policy.exclude_types
            or policy.providers
            or policy.exclude_providers
        )
        scan = limit * FILTER_HEADROOM if filtered else limit
        while True:
            ids, complete = await self._first_step(policy, topic_ids, params, scan)
            rows = await self.db.fetch(_FILTERED, {**params, "ids": json.dumps(ids)}) if ids else []
            if len(rows) >= limit or complete or scan >= MAX_SCAN:
                break
            scan *= 8  # the article filters threw too many away: look further
        order = {article_id: n for n, article_id in enumerate(ids)}
        best = sorted(rows, key=lambda r: order[r["id"]])[:limit]
        return await self._with_story(channel_id, best) if best else []

    async def _first_step(
        self, policy: Policy, topic_ids: list[int], params: dict[str, Any], scan: int
    ) -> tuple[list[int], bool]:
        """Ids of the best candidates, best first; and whether nothing was left unread."""
        if policy.providers:
            size = await self.db.fetch_one(
                _PROVIDERS_SIZE, {**params, "window": PROVIDER_WINDOW + 1}
            )
            if size[0] <= PROVIDER_WINDOW:
                ids = [r[0] for r in await self.db.fetch(_BY_PROVIDERS, {**params, "scan": scan})]
                return ids, len(ids) < scan
        found: dict[int, tuple[bool, Any, str]] = {}
        complete = True
        scopes: list[int | None] = list(topic_ids) or [None]
        for topic in scopes:
            sql = await self._plan(policy, topic, params)
            rows = await self.db.fetch(sql, {**params, "topic": topic, "scan": scan})
            complete = complete and len(rows) < scan
            for article_id, quality, published_at in rows:
                found[article_id] = (quality is not None, quality or 0, published_at)
        # several topics: merge their lists, best quality (missing last), then newest
        ranked = sorted(found, key=lambda article_id: found[article_id], reverse=True)
        return ranked, complete

    async def _plan(self, policy: Policy, topic: int | None, params: dict[str, Any]) -> str:
        """The window plan when max_age leaves at most WINDOW candidates, else the best plan.

        With a day's window over a topic of 300,000 articles, walking the quality index to find
        the few recent ones costs 200 ms; reading the window costs a fraction of a millisecond.
        With a wide window it is the other way round.
        """
        if policy.max_age is None:
            return _TOPIC_BEST if topic is not None else _ANY_BEST
        size_sql = _TOPIC_WINDOW_SIZE if topic is not None else _ANY_WINDOW_SIZE
        row = await self.db.fetch_one(
            size_sql, {"cutoff": params["cutoff"], "topic": topic, "window": WINDOW + 1}
        )
        if row[0] <= WINDOW:
            return _TOPIC_WINDOW if topic is not None else _ANY_WINDOW
        return _TOPIC_BEST if topic is not None else _ANY_BEST

    async def recent(self, channel_id: int, topics: Sequence[str], limit: int) -> list[Candidate]:
        """The newest articles of these topics (or of all), unfiltered, seen from a channel."""
        params = {"channel": channel_id, "limit": limit}
        rows: dict[int, Any] = {}
        if topics:
            for topic in await self.topic_ids(topics):
                for row in await self.db.fetch(_RECENT_IN_TOPIC, {**params, "topic": topic}):
                    rows[row["id"]] = row
        else:
            for row in await self.db.fetch(_RECENT_ANY_TOPIC, params):
                rows[row["id"]] = row
        if not rows:
            return []
        newest = sorted(rows.values(), key=lambda r: r["published_at"], reverse=True)[:limit]
        return await self._with_story(channel_id, newest)

    async def _with_story(self, channel_id: int, rows: list[Any]) -> list[Candidate]:
        ids = json.dumps([r["id"] for r in rows])
        keys: dict[int, set[str]] = defaultdict(set)
        for article_id, key in await self.db.fetch(_TOPIC_KEYS, (ids,)):
            keys[article_id].add(key)
        story: dict[int, set[int]] = defaultdict(set)
        for article_id, other in await self.db.fetch(_STORY_LINKS, {"ids": ids}):
            story[article_id].add(other)
        linked = sorted({other for others in story.values() for other in others})
        posted: set[int] = set()
        if linked:
            posted = {
                r[0] for r in await self.db.fetch(_POSTED_AMONG, (channel_id, json.dumps(linked)))
            }
        out = []
        for row in rows:
            same = sorted(story[row["id"]] & posted)
            out.append(
                Candidate(
                    article_id=row["id"],
                    url=row["url"],
                    title=row["title"],
                    published_at=parse_db_time(row["published_at"]),
                    quality=row["quality"],
                    type=row["type"],
                    provider_name=row["provider_name"],
                    provider_domain=row["provider_domain"],
                    topic_keys=frozenset(keys[row["id"]]),
                    source_published=bool(row["source_published"]),
                    delivered=bool(row["delivered"]),
                    same_story_as=same[0] if same else None,
                    story_ids=frozenset(story[row["id"]]),
                )
            )
        return out

    # ------------------------------------------------------------------ the outbox

    async def record_intent(
        self,
        channel_id: int,
        article_id: int,
        *,
        subscription_id: int | None,
        guild_id: int | None,
        nonce: str,
        now: datetime,
    ) -> Delivery:
        """Before sending: a new pending row, or one more attempt on a pending one."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO deliveries (channel_id, article_id, subscription_id, guild_id, state, "
                "nonce, intent_at, last_attempt_at, attempts) "
                "VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, 1) "
                "ON CONFLICT (channel_id, article_id) DO UPDATE SET attempts = attempts + 1, "
                "last_attempt_at = excluded.last_attempt_at, next_attempt_at = NULL "
                "WHERE state = 'pending'",
                (
                    channel_id,
                    article_id,
                    subscription_id,
                    guild_id,
                    nonce,
                    db_time(now),
                    db_time(now),
                ),
            )
            rows = await conn.execute_fetchall(
                "SELECT * FROM deliveries WHERE channel_id = ? AND article_id = ?",
                (channel_id, article_id),
            )
        return _delivery(next(iter(rows)))

    async def mark_sent(
        self, channel_id: int, article_id: int, message_id: int | None, now: datetime
    ) -> None:
        await self.db.execute(
            "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?, error = NULL, "
            "next_attempt_at = NULL WHERE channel_id = ? AND article_id = ?",
            (message_id, db_time(now), channel_id, article_id),
        )

    async def retry_later(
        self, channel_id: int, article_id: int, error: str, when: datetime
    ) -> None:
        """The outcome is unknown (5xx, network): stay pending, reconcile and retry ``when``."""
        await self.db.execute(
            "UPDATE deliveries SET error = ?, next_attempt_at = ? "
            "WHERE channel_id = ? AND article_id = ? AND state = 'pending'",
            (error, db_time(when), channel_id, article_id),
        )

    async def cancel(self, channel_id: int, article_id: int) -> None:
        """Forget a pending intent that Discord definitely refused (nothing was created)."""
        await self.db.execute(
            "DELETE FROM deliveries WHERE channel_id = ? AND article_id = ? AND state = 'pending'",
            (channel_id, article_id),
        )

    async def finish(self, channel_id: int, article_id: int, state: str, error: str) -> None:
        """A final state other than sent: quarantined, failed, unconfirmed."""
        assert state in ("quarantined", "failed", "unconfirmed")
        await self.db.execute(
            "UPDATE deliveries SET state = ?, error = ?, next_attempt_at = NULL "
            "WHERE channel_id = ? AND article_id = ?",
            (state, error, channel_id, article_id),
        )

    async def record_skips(
        self,
        channel_id: int,
        skips: Sequence[tuple[int, str]],
        *,
        subscription_id: int | None,
        guild_id: int | None,
        now: datetime,
    ) -> None:
        """Articles that will never go to this channel (same story): never considered again."""
        if not skips:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO deliveries (channel_id, article_id, subscription_id, guild_id, state, "
                "nonce, intent_at, last_attempt_at, attempts, error) "
                "VALUES (?, ?, ?, ?, 'skipped', '', ?, ?, 0, ?) "
                "ON CONFLICT (channel_id, article_id) DO NOTHING",
                [
                    (
                        channel_id,
                        article_id,
                        subscription_id,
                        guild_id,
                        db_time(now),
                        db_time(now),
                        reason,
                    )
                    for article_id, reason in skips
                ],
            )

    async def open_deliveries(self, channel_id: int | None = None) -> list[Delivery]:
        """Pending deliveries (outcome unknown), oldest first."""
        if channel_id is None:
            rows = await self.db.fetch(
                "SELECT * FROM deliveries WHERE state = 'pending' ORDER BY intent_at"
            )
        else:
            rows = await self.db.fetch(
                "SELECT * FROM deliveries WHERE state = 'pending' AND channel_id = ? "
                "ORDER BY intent_at",
                (channel_id,),
            )
        return [_delivery(r) for r in rows]

    async def get(self, channel_id: int, article_id: int) -> Delivery | None:
        row = await self.db.fetch_one(
            "SELECT * FROM deliveries WHERE channel_id = ? AND article_id = ?",
            (channel_id, article_id),
        )
        return _delivery(row) if row else None

    async def list_for_channel(self, channel_id: int) -> list[Delivery]:
        rows = await self.db.fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? ORDER BY intent_at", (channel_id,)
        )
        return [_delivery(r) for r in rows]

    async def last_sent(self, channel_id: int, limit: int = 5) -> list[Delivery]:
        rows = await self.db.fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND state = 'sent' "
            "ORDER BY sent_at DESC LIMIT ?",
            (channel_id, limit),
        )
        return [_delivery(r) for r in rows]
