"""Selection: what goes next, in what order, and why the rest does not (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.selection import Candidate, Policy, Skip, rule_out, select

NOW = datetime(2021, 6, 1, 12, tzinfo=UTC)


def cand(article_id: int, quality: float | None = 70, hours: float = 1, **kw: object) -> Candidate:
    fields: dict[str, object] = {
        "article_id": article_id,
        "url": f"https://e.com/{article_id}",
        "title": f"t{article_id}",
        "published_at": NOW - timedelta(hours=hours),
        "quality": quality,
        "topic_keys": frozenset({"ai"}),
    }
    fields.update(kw)
    return Candidate(**fields)  # type: ignore[arg-type]


def test_best_quality_first_then_newest() -> None:
    picked = select(
        [cand(1, 70, hours=5), cand(2, 90, hours=9), cand(3, 70, hours=1), cand(4, None, 0)],
        Policy.build(max_per_run=4),
        NOW,
    )
    assert [c.article_id for c in picked.chosen] == [2, 3, 1, 4]


def test_max_per_run() -> None:
    picked = select([cand(i) for i in range(5)], Policy.build(max_per_run=2), NOW)
    assert len(picked.chosen) == 2
    assert [r for _, r in picked.skipped] == [Skip.RUN_FULL] * 3


def test_every_rule_has_its_reason() -> None:
    policy = Policy.build(
        min_quality=50,
        max_age=timedelta(days=7),
        topics=["AI", "Space"],
        exclude_topics=["Crypto"],
        types=["article"],
        exclude_providers=["spam.example"],
    )
    cases = {
        Skip.ALREADY_POSTED: cand(1, delivered=True),
        Skip.SOURCE_PUBLISHED: cand(2, source_published=True),
        Skip.BELOW_QUALITY: cand(3, 49),
        Skip.TOO_OLD: cand(4, hours=24 * 8),
        Skip.TOPIC_EXCLUDED: cand(5, topic_keys=frozenset({"ai", "crypto"})),
        Skip.TOPIC_NOT_INCLUDED: cand(6, topic_keys=frozenset({"cooking"})),
        Skip.TYPE_FILTERED: cand(7, type="Video"),
        Skip.PROVIDER_FILTERED: cand(8, provider_domain="SPAM.example"),
        Skip.SAME_STORY: cand(9, same_story_as=42),
    }
    for reason, candidate in cases.items():
        assert rule_out(candidate, policy, NOW) is reason, reason
    assert rule_out(cand(10, 50, topic_keys=frozenset({"space"})), policy, NOW) is None
    assert rule_out(cand(11, None), Policy.build(min_quality=0), NOW) is None  # missing = 0
    assert rule_out(cand(12, None), Policy.build(min_quality=1), NOW) is Skip.BELOW_QUALITY


def test_source_published_can_be_ignored_by_config() -> None:
    assert (
        rule_out(cand(1, source_published=True), Policy.build(respect_source_published=False), NOW)
        is None
    )


def test_no_age_limit() -> None:
    assert rule_out(cand(1, hours=24 * 3650), Policy.build(max_age=None), NOW) is None


def test_one_story_once_per_run() -> None:
    a = cand(1, 90, story_ids=frozenset({2}))
    b = cand(2, 80, story_ids=frozenset({1}))
    c = cand(3, 70)
    picked = select([b, c, a], Policy.build(max_per_run=3), NOW)
    assert [x.article_id for x in picked.chosen] == [1, 3]
    assert picked.skipped == [(b, Skip.SAME_STORY_THIS_RUN)]


@given(
    st.lists(
        st.builds(
            cand,
            st.integers(0, 50),
            st.one_of(st.none(), st.integers(0, 120)),
            st.floats(0, 400),
            delivered=st.booleans(),
            source_published=st.booleans(),
        ),
        unique_by=lambda c: c.article_id,
        max_size=30,
    ),
    st.integers(1, 10),
    st.integers(0, 100),
)
def test_selection_invariants(candidates: list[Candidate], limit: int, minimum: int) -> None:
    policy = Policy.build(max_per_run=limit, min_quality=minimum, max_age=timedelta(days=7))
    picked = select(candidates, policy, NOW)
    assert len(picked.chosen) <= limit
    assert len(picked.chosen) + len(picked.skipped) == len(candidates)
    for chosen in picked.chosen:
        assert not chosen.delivered
        assert not chosen.source_published
        assert (chosen.quality or 0) >= minimum
        assert chosen.published_at >= NOW - timedelta(days=7)
    keys = [c.sort_key() for c in picked.chosen]
    assert keys == sorted(keys, reverse=True)


def test_quiet_hours_may_span_midnight() -> None:
    from datetime import time

    from bot.domain.subscription import QuietHours

    night = QuietHours(time(22), time(7))
    assert night.contains(time(23, 30))
    assert night.contains(time(3))
    assert not night.contains(time(7))
    assert not night.contains(time(12))
    lunch = QuietHours(time(12), time(13))
    assert lunch.contains(time(12, 30))
    assert not lunch.contains(time(13))
    assert str(night) == "22:00-07:00"
