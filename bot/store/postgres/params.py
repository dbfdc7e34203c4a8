"""SQLite's parameter marks (``?``, ``:name``) as PostgreSQL's (``$1``...), so that every
store statement is written once for both databases.

Marks inside quoted strings (``'...'``, ``E'...'``, ``$$...$$``), quoted names and comments
are left alone, and so are ``::type`` casts; ``?NNN`` keeps its number; a statement that
mixes styles (or already has ``$n``) is refused. PostgreSQL's jsonb ``?`` operators cannot
be written here: use ``jsonb_exists()``. A statement is rewritten once and remembered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_REST = _NAME_START | frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class Numbered:
    text: str
    names: tuple[str, ...]  # for :name marks, the name of $1, $2, ...; empty for ? marks
    positional: int  # how many ? marks


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    """The index just past the quoted part that starts at ``start`` ('' and "" escape)."""
    at = start + 1
    while at < len(sql):
        if sql[at] == quote:
            if at + 1 < len(sql) and sql[at + 1] == quote:
                at += 2
                continue
            return at + 1
        at += 1
    return at


def _skip_escaped(sql: str, start: int) -> int:
    """Past an ``E'...'`` string that starts at ``start`` (the quote): backslash escapes."""
    at = start + 1
    while at < len(sql):
        if sql[at] == "\\":
            at += 2
            continue
        if sql[at] == "'":
            if at + 1 < len(sql) and sql[at + 1] == "'":
                at += 2
                continue
            return at + 1
        at += 1
    return at


def _dollar_tag(sql: str, at: int) -> str | None:
    """The ``$tag$`` (or ``$$``) that opens a dollar-quoted string at ``at``, if one does."""
    end = at + 1
    while end < len(sql) and sql[end] in _NAME_REST:
        end += 1
    if end < len(sql) and sql[end] == "$" and (end == at + 1 or sql[at + 1] in _NAME_START):
        return sql[at : end + 1]
    return None


def _skip(sql: str, at: int) -> int:
    """Past a part where no mark counts (quoted, commented), or ``at`` if none starts here."""
    char = sql[at]
    if char in "'\"":
        return _skip_quoted(sql, at, char)
    if char in "eE" and sql.startswith("'", at + 1) and (at == 0 or sql[at - 1] not in _NAME_REST):
        return _skip_escaped(sql, at + 1)
    if sql.startswith("--", at):
        end = sql.find("\n", at)
        return len(sql) if end < 0 else end
    if sql.startswith("/*", at):
        end = sql.find("*/", at + 2)
        return len(sql) if end < 0 else end + 2
    if char == "$" and (tag := _dollar_tag(sql, at)) is not None:
        end = sql.find(tag, at + len(tag))
        return len(sql) if end < 0 else end + len(tag)
    return at


@lru_cache(maxsize=2048)
def numbered(sql: str) -> Numbered:
    out: list[str] = []
    names: list[str] = []
    positional = 0
    styles: set[str] = set()
    at = 0
    while at < len(sql):
        char = sql[at]
        end = _skip(sql, at)
        if end > at:
            out.append(sql[at:end])
            at = end
        elif char == "?":
            digits = at + 1
            while digits < len(sql) and sql[digits].isdigit():
                digits += 1
            if digits > at + 1:  # ?NNN: SQLite's numbered mark, the same number
                styles.add("?NNN")
                positional = max(positional, int(sql[at + 1 : digits]))
                out.append(f"${sql[at + 1 : digits]}")
            else:
                styles.add("?")
                positional += 1
                out.append(f"${positional}")
            at = digits
        elif char == "$" and at + 1 < len(sql) and sql[at + 1].isdigit():
            styles.add("$n")
            out.append(char)
            at += 1
        elif sql.startswith("::", at):
            out.append("::")
            at += 2
        elif char == ":" and at + 1 < len(sql) and sql[at + 1] in _NAME_START:
            styles.add(":name")
            end = at + 2
            while end < len(sql) and sql[end] in _NAME_REST:
                end += 1
            name = sql[at + 1 : end]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            at = end
        else:
            out.append(char)
            at += 1
    if len(styles) > 1:
        raise ValueError(f"a statement mixes parameter styles ({', '.join(sorted(styles))}): {sql}")
    return Numbered("".join(out), tuple(names), positional)


def bind(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, Sequence[Any]]:
    """The PostgreSQL text of ``sql`` and its arguments in ``$n`` order."""
    statement = numbered(sql)
    if isinstance(params, Mapping):
        if statement.positional:
            raise ValueError(f"named values for a statement with ? parameters: {sql}")
        return statement.text, [params[name] for name in statement.names]
    if statement.names:
        raise ValueError(f"positional values for a statement with :name parameters: {sql}")
    return statement.text, params
