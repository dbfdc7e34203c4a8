"""Which articles a subscription posts next, and why the others are not posted (pure).

Per run: articles matching the subscription that were not yet delivered to its channel, not
marked published by the source, with quality at or above the minimum (a missing quality
counts as 0 there), not older than ``max_age``; best quality first, newest first within the
same quality; at most ``max_per_run``; not withdrawn from its source; with one of the
subscription's keywords and none of its excluded ones, when it has them (bot.domain.keywords).
An article whose URL is in the related coverage of an article already posted in the channel
(or the reverse) is the same story: it is skipped there, and so is a second article of one
story within a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from bot.domain.keywords import Term, mentions, parse_terms
from bot.domain.subscription import DEFAULT_MIN_QUALITY, DEFAULT_PER_RUN, SubscriptionSpec
from bot.domain.text import topic_key, type_key


class Skip(Enum):
    """Why a matching article is not posted (shown by the moderators' preview)."""

    ALREADY_POSTED = "already posted in this channel"
    WITHDRAWN = "withdrawn by its source"
    SOURCE_PUBLISHED = "marked published by the source"
    BELOW_QUALITY = "below the minimum quality"
    TOO_OLD = "older than max_age"
    TOPIC_EXCLUDED = "has an excluded topic"
    TOPIC_NOT_INCLUDED = "not in the subscription's topics"
    TYPE_FILTERED = "type not wanted"
    PROVIDER_FILTERED = "provider not wanted"
    KEYWORD_MISSING = "has none of the keywords"
    KEYWORD_EXCLUDED = "has an excluded keyword"
    SAME_STORY = "same story as an article already posted here"
    SAME_STORY_THIS_RUN = "same story as another article in this run"
    RUN_FULL = "this run is full (max_per_run, or digest_size for a digest)"


@dataclass(frozen=True, slots=True)
class Policy:
    """A subscription's rules, normalised for matching (keys are case-folded)."""

    min_quality: float = DEFAULT_MIN_QUALITY
    max_per_run: int = DEFAULT_PER_RUN
    max_age: timedelta | None = None
    topics: frozenset[str] = frozenset()
    exclude_topics: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    exclude_types: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    exclude_providers: frozenset[str] = frozenset()
    keywords: tuple[Term, ...] = ()
    exclude_keywords: tuple[Term, ...] = ()
    respect_source_published: bool = True

    @classmethod
    def build(
        cls,
        *,
        min_quality: float = DEFAULT_MIN_QUALITY,
        max_per_run: int = DEFAULT_PER_RUN,
        max_age: timedelta | None = None,
        topics: Iterable[str] = (),
        exclude_topics: Iterable[str] = (),
        types: Iterable[str] = (),
        exclude_types: Iterable[str] = (),
        providers: Iterable[str] = (),
        exclude_providers: Iterable[str] = (),
        keywords: Iterable[str] = (),
        exclude_keywords: Iterable[str] = (),
        respect_source_published: bool = True,
    ) -> Policy:
        def keys(values: Iterable[str]) -> frozenset[str]:
            return frozenset(topic_key(v) for v in values if v.strip())

        def types_of(values: Iterable[str]) -> frozenset[str]:
            return frozenset(type_key(v) for v in values if v.strip())

        return cls(
            min_quality=min_quality,
            max_per_run=max_per_run,
            max_age=max_age,
            topics=keys(topics),
            exclude_topics=keys(exclude_topics),
            types=types_of(types),
            exclude_types=types_of(exclude_types),
            providers=keys(providers),
            exclude_providers=keys(exclude_providers),
            keywords=parse_terms(keywords),
            exclude_keywords=parse_terms(exclude_keywords),
            respect_source_published=respect_source_published,
        )

    @classmethod
    def of(cls, spec: SubscriptionSpec, *, respect_source_published: bool = True) -> Policy:
        """The policy of a subscription. A digest carries up to ``digest_size`` articles and
        ignores ``max_per_run``: that is how many a run chooses."""
        return cls.build(
            min_quality=spec.min_quality,
            max_per_run=spec.digest_size if spec.mode == "digest" else spec.max_per_run,
            max_age=spec.max_age,
            topics=spec.topics,
            exclude_topics=spec.exclude_topics,
            types=spec.types,
            exclude_types=spec.exclude_types,
            providers=spec.providers,
            exclude_providers=spec.exclude_providers,
            keywords=spec.keywords,
            exclude_keywords=spec.exclude_keywords,
            respect_source_published=respect_source_published,
        )

    def cutoff(self, now: datetime) -> datetime | None:
        return None if self.max_age is None else now - self.max_age


@dataclass(frozen=True, slots=True)
class Candidate:
    """What selection needs to know about one article, as seen from one channel."""

    article_id: int
    url: str
    title: str
    published_at: datetime
    quality: float | None
    type: str = "article"
    provider_name: str | None = None
    provider_domain: str | None = None
    topic_keys: frozenset[str] = frozenset()
    source_published: bool = False
    delivered: bool = False  # has a delivery record in this channel (in any state)
    same_story_as: int | None = None  # an article already posted here that is the same story
    story_ids: frozenset[int] = frozenset()  # stored articles linked by related coverage
    excerpt: str | None = None
    withdrawn: bool = False  # left its source (bot.services.ingest.withdrawals)

    def sort_key(self) -> tuple[bool, float, datetime]:
        return best_first(self.quality, self.published_at)


def best_first(quality: float | None, published_at: datetime) -> tuple[bool, float, datetime]:
    """The order of the best articles (sorted in reverse): best quality first (missing last),
    newest first within the same quality. Runs choose in it; digests show their articles in it."""
    return (quality is not None, quality or 0, published_at)


@dataclass(slots=True)
class Selection:
    chosen: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[Candidate, Skip]] = field(default_factory=list)


def reasons(candidate: Candidate, policy: Policy, now: datetime) -> list[Skip]:
    """Every rule that keeps this article out of the channel (empty: it may go), in order.

    The one statement of a subscription's rules: bot.store.candidates applies the same ones
    in SQL (tests/store/test_candidates.py proves that both agree).
    """
    out = []
    if candidate.delivered:
        out.append(Skip.ALREADY_POSTED)
    if candidate.withdrawn:
        out.append(Skip.WITHDRAWN)
    if policy.respect_source_published and candidate.source_published:
        out.append(Skip.SOURCE_PUBLISHED)
    if policy.topics and not (candidate.topic_keys & policy.topics):
        out.append(Skip.TOPIC_NOT_INCLUDED)
    if candidate.topic_keys & policy.exclude_topics:
        out.append(Skip.TOPIC_EXCLUDED)
    kind = type_key(candidate.type)
    if (policy.types and kind not in policy.types) or kind in policy.exclude_types:
        out.append(Skip.TYPE_FILTERED)
    names = {topic_key(n) for n in (candidate.provider_name, candidate.provider_domain) if n}
    if (policy.providers and not names & policy.providers) or names & policy.exclude_providers:
        out.append(Skip.PROVIDER_FILTERED)
    if policy.keywords and not mentions(candidate.title, candidate.excerpt, policy.keywords):
        out.append(Skip.KEYWORD_MISSING)
    if policy.exclude_keywords and mentions(
        candidate.title, candidate.excerpt, policy.exclude_keywords
    ):
        out.append(Skip.KEYWORD_EXCLUDED)
    if (candidate.quality or 0) < policy.min_quality:
        out.append(Skip.BELOW_QUALITY)
    cutoff = policy.cutoff(now)
    if cutoff is not None and candidate.published_at < cutoff:
        out.append(Skip.TOO_OLD)
    if candidate.same_story_as is not None:
        out.append(Skip.SAME_STORY)
    return out


def rule_out(candidate: Candidate, policy: Policy, now: datetime) -> Skip | None:
    """The first rule that keeps this article out of the channel, or None if it may go."""
    found = reasons(candidate, policy, now)
    return found[0] if found else None


def select(candidates: Sequence[Candidate], policy: Policy, now: datetime) -> Selection:
    """Pick up to ``max_per_run`` articles; explain every other candidate.

    Candidates from the store's query already passed these rules in SQL; they are checked
    again because not every list comes from that query (the preview explains unfiltered
    ones) and a check costs microseconds. The same-story rules only apply here.
    """
    result = Selection()
    chosen_ids: set[int] = set()
    for candidate in sorted(candidates, key=Candidate.sort_key, reverse=True):
        reason = rule_out(candidate, policy, now)
        if reason is None and (candidate.story_ids & chosen_ids):
            reason = Skip.SAME_STORY_THIS_RUN
        if reason is None and len(result.chosen) >= policy.max_per_run:
            reason = Skip.RUN_FULL
        if reason is None:
            result.chosen.append(candidate)
            chosen_ids.add(candidate.article_id)
        else:
            result.skipped.append((candidate, reason))
    return result


# Skips that are final for the channel: recorded, so the article is never considered again.
# (SAME_STORY_THIS_RUN is not: if the chosen article fails, the other one may still go.)
PERMANENT_SKIPS = frozenset({Skip.SAME_STORY})
