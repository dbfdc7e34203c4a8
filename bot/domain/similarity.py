"""Same story, by title: two headlines that share most of their significant words (pure)."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that say nothing about which story a headline tells.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "new",
        "says",
        "said",
        "after",
        "over",
        "about",
        "more",
        "than",
        "up",
        "out",
        "all",
        "can",
        "could",
        "may",
        "not",
        "no",
        "now",
        "one",
        "two",
        "2019",
        "2020",
        "2021",
        "2022",
        "2023",
        "2024",
        "2025",
        "2026",
        "you",
        "your",
        "we",
        "our",
        "just",
        "get",
        "gets",
        "via",
        "amid",
    }
)


def significant_words(title: str) -> frozenset[str]:
    return frozenset(
        w for w in (m.casefold() for m in _WORD.findall(title)) if len(w) > 2 and w not in STOPWORDS
    )


def title_similarity(a: str, b: str) -> float:
    """Overlap of significant words relative to the shorter title: 0.0 to 1.0."""
    left, right = significant_words(a), significant_words(b)
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))


SAME_STORY_THRESHOLD = 0.5
