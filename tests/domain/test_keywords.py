"""Keyword filters (pure): one definition of a word, of a keyword and of a match."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.keywords import (
    entries_of,
    mentions,
    parse_terms,
    passes,
    sql_match,
    to_json,
    words,
)


@pytest.mark.parametrize(
    ("keyword", "title", "found"),
    [
        ("cafe", "The Café of robots", True),  # accents
        ("CAFÉ", "the cafe", True),
        ("strasse", "Die Straße", True),  # full case folding
        ("ai", "AI beats humans", True),
        ("ai", "He said so", False),  # whole words only
        ("ai", "AI-driven cars", True),  # punctuation separates words
        ("ai", "\uff21\uff29 in full width", True),  # compatibility forms (NFKC)
        ('"machine learning"', "Machine  learning, explained", True),
        ('"machine learning"', "Learning machine", False),  # a phrase keeps its order
        ('"machine learning"', "machine deep learning", False),  # ... and its words together
        ("人工智能", "人工智能研究的新进展", True),  # no spaces: characters are words
        ("智能", "人工智能", True),
        ("研究", "人工智能", False),
        ("ロボット", "新しいロボットが登場", True),
        ("a.*", "a b", True),  # no regular expressions: only its word counts
        ("a.*", "abc", False),
    ],
)
def test_what_matches(keyword: str, title: str, found: bool) -> None:
    assert mentions(title, None, parse_terms([keyword])) is found


def test_title_and_excerpt_are_matched_separately() -> None:
    terms = parse_terms(['"quantum computing"'])
    assert mentions("Quantum", "computing for all", terms) is False
    assert mentions("News", "Quantum computing for all", terms) is True


def test_wanted_and_unwanted() -> None:
    wanted, unwanted = parse_terms(["robots"]), parse_terms(["crypto"])
    assert passes("Robots at work", None, wanted, unwanted)
    assert not passes("Robots buy crypto", None, wanted, unwanted)
    assert not passes("Cats at work", None, wanted, unwanted)
    assert passes("Cats at work", None, (), unwanted)  # no keywords: only exclusions apply
    assert not passes("Cats", "and Crypto", (), unwanted)


def test_entries_and_terms() -> None:
    assert entries_of('robots, "machine learning" AI,,') == ("robots", '"machine learning"', "AI")
    assert parse_terms(['AI "machine learning"', "ai", "Straße"]) == (
        ("ai",),
        ("machine", "learning"),
        ("strasse",),
    )
    assert parse_terms(["...", '""']) == ()


@given(
    st.text(max_size=60),
    st.one_of(st.none(), st.text(max_size=60)),
    st.lists(st.text(min_size=1, max_size=12), max_size=3),
    st.lists(st.text(min_size=1, max_size=12), max_size=3),
)
def test_the_sql_function_is_the_rule(
    title: str, excerpt: str | None, wanted: list[str], unwanted: list[str]
) -> None:
    w, u = parse_terms(wanted), parse_terms(unwanted)
    assert sql_match(title, excerpt, to_json(w), to_json(u)) == int(passes(title, excerpt, w, u))


@given(st.text(max_size=80))
def test_a_text_mentions_each_of_its_own_words(text: str) -> None:
    for word in words(text):
        assert mentions(text, None, [(word,)])


def test_only_latin_letters_lose_their_accents() -> None:
    assert words("Café Ñandú ệ") == ("cafe", "nandu", "e")
    assert words("Йод и") == ("йод", "и")  # й is a letter of its own
    assert mentions("йод", None, parse_terms(["иод"])) is False
    assert words("हिन्दी") != words("हनद")  # Devanagari keeps its vowel signs and virama
