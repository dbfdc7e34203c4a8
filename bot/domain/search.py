"""Ranking search matches (pure).

FTS5's bm25 needs, for every query term, the number of documents containing it, which it
counts by reading the term's whole posting list: for a word in most articles that is 20-70 ms
at a million articles, whatever the LIMIT. So Newsdesk ranks the newest matches itself, by
where the words occur: in the title counts most, then in the topics, then the provider; the
excerpt only qualifies an article. Ties go to the newer article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

_WORD = re.compile(r"\w+", re.UNICODE)
TITLE_WEIGHT, TOPIC_WEIGHT, PROVIDER_WEIGHT = 3, 2, 1


def words_of(text: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in _WORD.findall(text))


@dataclass(frozen=True, slots=True)
class Match:
    id: int
    title: str
    topics_text: str
    provider: str | None
    published_at: datetime


def score(query_words: frozenset[str], match: Match) -> int:
    title = words_of(match.title)
    topics = words_of(match.topics_text)
    provider = words_of(match.provider or "")
    return sum(
        TITLE_WEIGHT * (w in title)
        + TOPIC_WEIGHT * (w in topics)
        + PROVIDER_WEIGHT * (w in provider)
        for w in query_words
    )


def rank(query: str, matches: Sequence[Match]) -> list[Match]:
    """Best matches first; the newest first among equally good ones."""
    wanted = words_of(query)
    return sorted(matches, key=lambda m: (score(wanted, m), m.published_at), reverse=True)
