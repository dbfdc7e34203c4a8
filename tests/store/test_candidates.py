"""The candidate query (SQL) and the pure rules (bot.domain.selection) agree, for every plan.

Random corpora go into a real SQLite store, with random deliveries and related coverage;
random subscriptions ask for their candidates through every plan the planner has (a topic
or all articles, walking the quality index or reading a max_age window, a provider list read
directly, the widening scan when second-step filters drop rows). The oracle applies
``bot.domain.selection.reasons`` to every stored article, built from the generated data, not
from the database: what may go (or is only held back by the same-story rule), best first.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.delivery import POSTED, DeliveryState
from bot.domain.models import Article, Provider, RelatedItem
from bot.domain.selection import Candidate, Policy, Skip, reasons
from bot.domain.subscription import MAX_TOPICS
from bot.domain.text import topic_key
from bot.store.articles import ArticleStore
from bot.store.candidates import CandidateQueries, Plans
from bot.store.db import Database
from bot.store.rows import article_rows
from bot.store.times import db_time

CHANNEL, OTHER_CHANNEL = 7, 8
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
TOPICS = ["AI", "ai", "Robotics", "Über", "Space"]
TYPES = ["article", "video", "Video", "Vidéo", "VIDÉO", "PODCAST"]
PROVIDERS = [("Reuters", "reuters.com"), ("reuters", None), ("Ñews", "ñ.example"), (None, None)]
# Excerpt words, and the keywords subscriptions look for among them (accents, case, phrases).
WORDS = ["robots", "Robots", "café", "machine", "learning", "crypto", "人工", "智能", "said"]
KEYWORDS = ["robots", "CAFE", '"machine learning"', "人工智能", "ai", "crypto", "learning"]
PLANS = [
    Plans(),  # wide windows: the best index
    Plans(window=0),  # every max_age window is "too wide": the best index
    Plans(window=3, headroom=1),  # small windows read whole; filters force the widening scan
    Plans(provider_window=0),  # a provider list never read directly
    Plans(provider_window=10_000, headroom=1),
]


@dataclass(frozen=True)
class Spec:
    minutes_ago: int
    quality: float | int | None
    type: str
    provider: tuple[str | None, str | None]
    topics: tuple[str, ...]
    published: bool
    related: tuple[int, ...]  # indexes of other generated articles (some out of range)
    delivery: DeliveryState | None  # its record in CHANNEL, if any
    elsewhere: bool  # a record in another channel (must not matter)
    excerpt: tuple[str, ...] = ()  # its words


def url(n: int) -> str:
    return f"https://news.example.com/a/{n}"


specs = st.builds(
    Spec,
    minutes_ago=st.integers(0, 60 * 24 * 40),
    quality=st.one_of(st.none(), st.integers(0, 100), st.floats(0, 100).map(lambda q: round(q, 1))),
    type=st.sampled_from(TYPES),
    provider=st.sampled_from(PROVIDERS),
    topics=st.lists(st.sampled_from(TOPICS), max_size=3).map(tuple),
    published=st.booleans(),
    related=st.lists(st.integers(0, 12), max_size=4).map(tuple),
    delivery=st.one_of(st.none(), st.sampled_from(list(DeliveryState))),
    elsewhere=st.booleans(),
    excerpt=st.lists(st.sampled_from(WORDS), max_size=4).map(tuple),
)
# distinct dates: the order of the best candidates is then fully defined
corpora = st.lists(specs, max_size=30, unique_by=lambda s: s.minutes_ago)
policies = st.builds(
    Policy.build,
    min_quality=st.sampled_from([0, 0, 30, 70, 99.5]),
    max_per_run=st.integers(1, 10),
    max_age=st.sampled_from([None, timedelta(days=1), timedelta(days=7), timedelta(days=30)]),
    topics=st.lists(st.sampled_from([*TOPICS, "Nothing"]), max_size=2),
    exclude_topics=st.lists(st.sampled_from(TOPICS), max_size=1),
    types=st.lists(st.sampled_from(TYPES), max_size=2),
    exclude_types=st.lists(st.sampled_from(TYPES), max_size=1),
    providers=st.lists(
        st.sampled_from(["Reuters", "reuters.com", "ñ.example", "nobody"]), max_size=2
    ),
    exclude_providers=st.lists(st.sampled_from(["REUTERS", "ñ.example"]), max_size=1),
    keywords=st.lists(st.sampled_from(KEYWORDS), max_size=2),
    exclude_keywords=st.lists(st.sampled_from(KEYWORDS), max_size=1),
    respect_source_published=st.booleans(),
)


def article(index: int, spec: Spec, count: int) -> Article:
    name, domain = spec.provider
    return Article(
        url=url(index),
        title=f"Story {index}",
        excerpt=" ".join(spec.excerpt) or None,
        published_at=NOW - timedelta(minutes=spec.minutes_ago),
        type=spec.type,
        quality=spec.quality,
        published=spec.published,
        provider=Provider(name, domain) if name or domain else None,
        topics=tuple({topic_key(t): t for t in reversed(spec.topics)}.values())[::-1],
        related=tuple(RelatedItem(url(r), f"Story {r}") for r in spec.related),
    )


def oracle(corpus: list[Spec], policy: Policy, limit: int) -> list[Candidate]:
    """What may go (or waits only for the same-story rule), best first, from the data."""
    stored = {url(i): i for i in range(len(corpus))}
    links: dict[int, set[int]] = {i: set() for i in range(len(corpus))}
    for i, spec in enumerate(corpus):
        for r in spec.related:
            if url(r) in stored:
                links[i].add(r)
                links[r].add(i)
    posted = {i for i, s in enumerate(corpus) if s.delivery in POSTED}
    ids = {i: i + 1 for i in range(len(corpus))}  # the store numbers articles from 1, in order
    out = []
    for i, spec in enumerate(corpus):
        a = article(i, spec, len(corpus))
        same = sorted(ids[j] for j in links[i] & posted)
        candidate = Candidate(
            article_id=ids[i],
            url=a.url,
            title=a.title,
            published_at=a.published_at,
            quality=a.quality,
            type=a.type,
            provider_name=a.provider.name if a.provider else None,
            provider_domain=a.provider.domain if a.provider else None,
            topic_keys=frozenset(topic_key(t) for t in a.topics),
            source_published=a.published,
            delivered=spec.delivery is not None,
            same_story_as=same[0] if same else None,
            story_ids=frozenset(ids[j] for j in links[i]),
            excerpt=a.excerpt,
        )
        if set(reasons(candidate, policy, NOW)) <= {Skip.SAME_STORY}:
            out.append(candidate)
    out.sort(key=Candidate.sort_key, reverse=True)
    return out[:limit]


async def stored_candidates(
    corpus: list[Spec], policy: Policy, plans: Plans, limit: int, where: Path
) -> list[Candidate]:
    db = await Database.open(where)
    try:
        store = ArticleStore(db, trust_published_flag=policy.respect_source_published)
        await store.apply_batch(
            [article_rows(article(i, s, len(corpus))) for i, s in enumerate(corpus)]
        )
        async with db.transaction() as conn:
            for i, spec in enumerate(corpus):
                records = [(CHANNEL, spec.delivery)] if spec.delivery else []
                records += [(OTHER_CHANNEL, DeliveryState.SENT)] if spec.elsewhere else []
                for channel, state in records:
                    await conn.execute(
                        "INSERT INTO deliveries (channel_id, article_id, state, nonce, intent_at, "
                        "last_attempt_at) VALUES (?, ?, ?, 'n', ?, ?)",
                        (channel, i + 1, state.value, db_time(NOW), db_time(NOW)),
                    )
        return await CandidateQueries(db, plans).candidates(CHANNEL, policy, NOW, limit, guild=None)
    finally:
        await db.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    corpus=corpora,
    policy=policies,
    plans=st.sampled_from(PLANS),
    limit=st.one_of(st.integers(1, 3), st.integers(1, 30)),  # small ones make scans widen
)
def test_the_candidate_query_is_the_pure_rules(
    corpus: list[Spec], policy: Policy, plans: Plans, limit: int
) -> None:
    with tempfile.TemporaryDirectory() as where:
        found = asyncio.run(stored_candidates(corpus, policy, plans, limit, Path(where) / "x.db"))
    assert found == oracle(corpus, policy, limit)


# One topic crowds out the other and most of its best articles are filtered out in the second
# step: the walks of both topics stop early, and the merge must not let the other topic's
# articles jump ahead of the crowded topic's unread ones.
crowded = st.lists(
    st.builds(
        Spec,
        minutes_ago=st.integers(0, 60 * 24 * 3),
        quality=st.integers(0, 100),
        type=st.sampled_from(["video", "video", "video", "article"]),
        provider=st.just((None, None)),
        topics=st.sampled_from([("AI",), ("AI",), ("AI",), ("Robotics",), ("AI", "Space")]),
        published=st.just(False),
        related=st.just(()),
        delivery=st.one_of(st.none(), st.none(), st.just(DeliveryState.SENT)),
        elsewhere=st.just(False),
    ),
    max_size=30,
    unique_by=lambda s: s.minutes_ago,
)
crowded_policies = st.builds(
    Policy.build,
    topics=st.sampled_from(
        [["AI", "Robotics"], ["Robotics", "Space"], ["AI", "Robotics", "Space"]]
    ),
    exclude_types=st.just(["video"]),
    max_age=st.sampled_from([None, timedelta(days=2)]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    corpus=crowded,
    policy=crowded_policies,
    plans=st.sampled_from([Plans(headroom=1), Plans(window=3, headroom=1)]),
    limit=st.integers(1, 3),
)
def test_several_topics_merge_into_the_true_best(
    corpus: list[Spec], policy: Policy, plans: Plans, limit: int
) -> None:
    with tempfile.TemporaryDirectory() as where:
        found = asyncio.run(stored_candidates(corpus, policy, plans, limit, Path(where) / "x.db"))
    assert found == oracle(corpus, policy, limit)


def test_filtered_best_of_one_topic_do_not_let_another_topic_ahead(tmp_path: Path) -> None:
    videos = [
        Spec(i, 90 - i, "video", (None, None), ("AI",), False, (), None, False) for i in range(4)
    ]
    corpus = [
        *videos,
        Spec(10, 80, "article", (None, None), ("AI",), False, (), None, False),
        Spec(11, 50, "article", (None, None), ("Robotics",), False, (), None, False),
    ]
    policy = Policy.build(topics=["AI", "Robotics"], exclude_types=["video"])
    found = asyncio.run(stored_candidates(corpus, policy, Plans(), 1, tmp_path / "x.db"))
    assert [c.title for c in found] == ["Story 4"]  # the AI article (80), not Robotics (50)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora, policy=policies, limit=st.integers(1, 10))
def test_a_capped_scan_returns_the_best_it_can_prove(
    corpus: list[Spec], policy: Policy, limit: int
) -> None:
    """When the widening scan reaches ``max_scan``, fewer candidates come back, but they are
    still the best ones, in order."""
    plans = Plans(window=3, headroom=1, max_scan=2)
    with tempfile.TemporaryDirectory() as where:
        found = asyncio.run(stored_candidates(corpus, policy, plans, limit, Path(where) / "x.db"))
    assert found == oracle(corpus, policy, limit)[: len(found)]


async def test_a_subscription_of_the_most_topics_allowed_is_one_query_sqlite_accepts(
    tmp_path: Path,
) -> None:
    """Every topic is a term of one compound SELECT, which SQLite caps at 500 terms."""
    corpus = [
        Spec(60 * n, 50, "article", PROVIDERS[0], (TOPICS[n],), False, (), None, False)
        for n in range(3)
    ]
    topics = [*TOPICS[:3], *(f"Topic {n}" for n in range(MAX_TOPICS - 3))]
    for max_age in (None, timedelta(days=7)):  # the window sizes: one term per topic too
        policy = Policy.build(topics=topics, max_age=max_age)
        found = await stored_candidates(corpus, policy, Plans(), 10, tmp_path / f"{max_age}.db")
        assert found == oracle(corpus, policy, 10)
        assert len(found) == 3
