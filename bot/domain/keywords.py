"""Keyword filters (pure): the one definition of a word, of a keyword, and of a match.

A subscription's ``keywords`` post only articles whose title or excerpt has one of them;
``exclude_keywords`` keep out those that have any. A keyword is a word, or a "quoted phrase"
(its words in that order, next to each other); matching is on whole words, ignoring case,
accents and compatibility forms:

* text is NFKC-normalised (full-width letters, ligatures and the like become plain ones),
  case-folded (so ``STRASSE`` matches ``straße``) and Latin letters lose their accents (so
  ``cafe`` matches ``café``; other scripts keep their marks: Cyrillic ``й`` is not ``и``);
* a word is a run of letters, digits and underscores (Python's ``\\w``), except that each
  character of a script written without spaces (Chinese, Japanese kana, Thai... see
  :data:`_UNSPACED`) is a word of its own: a Chinese keyword is a phrase of its characters, so
  ``人工智能`` matches inside ``人工智能研究`` (there is no word boundary to find there);
* title and excerpt are matched separately: a phrase does not run from one into the other.

No regular expressions from users: a keyword is only ever compared word by word.
SQL runs this very function (bot.store.connections registers :func:`sql_match`), so the
candidate query and the preview cannot disagree.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

MAX_KEYWORDS = 50  # entries per list
MAX_KEYWORD_LENGTH = 100  # characters per entry

# Scripts written without spaces between words: Han, Hiragana, Katakana, Thai, Lao, Khmer,
# Myanmar, Tibetan; each of their characters is a word of its own.
_UNSPACED = (
    "\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)
_WORD = re.compile(rf"[{_UNSPACED}]|(?:(?![{_UNSPACED}])\w)+")
_ASCII_WORD = re.compile(r"\w+", re.ASCII)  # the same, for ASCII text (most of it), faster
_TERM = re.compile(r'"([^"]*)"|([^\s",]+)')

Term = tuple[str, ...]  # a keyword's words, in order


# Accents on Latin letters (combining diacritical marks after a Latin letter, once
# decomposed); other scripts keep their marks, which tell letters apart there (Cyrillic й and
# и, Devanagari vowel signs).
_LATIN_ACCENTS = re.compile(r"(?<=[a-z\u00df-\u024f\u1e00-\u1eff])[\u0300-\u036f]+")


def _normal(text: str) -> str:
    """NFKC, case-folded, Latin letters without their accents (see the module doc)."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return folded
    bare = _LATIN_ACCENTS.sub("", unicodedata.normalize("NFD", folded))
    return unicodedata.normalize("NFC", bare)


def _split(normal: str) -> Term:
    pattern = _ASCII_WORD if normal.isascii() else _WORD
    return tuple(pattern.findall(normal))


def words(text: str) -> Term:
    """The words of a text, normalised (see the module doc)."""
    return _split(_normal(text))


def parse_terms(entries: Iterable[str]) -> tuple[Term, ...]:
    """The keywords of a list's entries: each "quoted phrase" is one, and so is each other
    word (entries may hold several, separated by spaces or commas). Duplicates go."""
    terms: dict[Term, None] = {}
    for entry in entries:
        for phrase, word in _TERM.findall(entry):
            term = words(phrase if phrase else word)
            if term:
                terms[term] = None
    return tuple(terms)


def entries_of(text: str) -> tuple[str, ...]:
    """One line of keywords as typed in Discord (``robots, "machine learning"``) as the
    entries of a list: each word, and each "quoted phrase" with its quotes."""
    return tuple(f'"{phrase}"' if phrase else word for phrase, word in _TERM.findall(text))


def _has(text: Term, term: Term) -> bool:
    if len(term) == 1:
        return term[0] in text
    size = len(term)
    return any(text[i : i + size] == term for i in range(len(text) - size + 1))


def mentions(title: str, excerpt: str | None, terms: Sequence[Term]) -> bool:
    """Whether the title or the excerpt has one of ``terms``."""
    for text in (title, excerpt):
        if not text:
            continue
        normal = _normal(text)
        # A word of the text is a substring of its normal form: a term whose first word is not
        # there cannot match (a C-speed test that spares most texts the split).
        maybe = [term for term in terms if term[0] in normal]
        if maybe:
            found = _split(normal)
            if any(_has(found, term) for term in maybe):
                return True
    return False


def passes(
    title: str, excerpt: str | None, wanted: Sequence[Term], unwanted: Sequence[Term]
) -> bool:
    """The keyword rules of a subscription: one of ``wanted`` (when there are any), none of
    ``unwanted``."""
    if wanted and not mentions(title, excerpt, wanted):
        return False
    return not (unwanted and mentions(title, excerpt, unwanted))


def to_json(terms: Iterable[Term]) -> str:
    """Terms as a query parameter for :func:`sql_match`."""
    return json.dumps([list(t) for t in terms], ensure_ascii=False)


@lru_cache(maxsize=256)
def _from_json(text: str) -> tuple[Term, ...]:
    return tuple(tuple(t) for t in json.loads(text))


def sql_match(title: str | None, excerpt: str | None, wanted: str, unwanted: str) -> int:
    """:func:`passes` as an SQL function (``wanted``/``unwanted``: :func:`to_json`)."""
    return int(passes(title or "", excerpt, _from_json(wanted), _from_json(unwanted)))
