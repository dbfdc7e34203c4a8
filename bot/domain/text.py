"""Text rules shared by parsing, matching and display (pure)."""

from __future__ import annotations


def topic_key(name: str) -> str:
    """The case-insensitive identity of a topic (or a type, or a provider name)."""
    return " ".join(name.split()).casefold()


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def type_key(kind: str) -> str:
    """How article types are matched: ignoring the case of ASCII letters only, exactly as
    SQLite's lower() does (the candidate query filters types with it)."""
    return kind.strip().translate(_ASCII_LOWER)
