"""Text rules shared by parsing, matching and display (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime


def topic_key(name: str) -> str:
    """The case-insensitive identity of a topic (or a type, or a provider name)."""
    return " ".join(name.split()).casefold()


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def type_key(kind: str) -> str:
    """How article types are matched: ignoring the case of ASCII letters only, exactly as
    SQLite's lower() does (the candidate query filters types with it)."""
    return kind.strip().translate(_ASCII_LOWER)


def quality_text(quality: float | None) -> str:
    """An article's quality as every view shows it: ``quality 42``, or ``unrated``."""
    return "unrated" if quality is None else f"quality {quality:g}"


def kind(value: object) -> str:
    """What a value is, for messages: ``text 'abc'``, ``the number 3``, ``a list``..."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text {shown!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, datetime | date):
        return f"the date {value.isoformat()}"
    return type(value).__name__
