"""SQLite's parameter marks (``?``, ``:name``) as PostgreSQL's (``$1``...), so that every
store statement is written once for both databases.

Marks inside quoted strings, quoted names and ``--`` comments are left alone, and so are
``::type`` casts. A statement is rewritten once and remembered.
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


@lru_cache(maxsize=2048)
def numbered(sql: str) -> Numbered:
    out: list[str] = []
    names: list[str] = []
    positional = 0
    at = 0
    while at < len(sql):
        char = sql[at]
        if char in "'\"":
            end = _skip_quoted(sql, at, char)
            out.append(sql[at:end])
            at = end
        elif sql.startswith("--", at):
            end = sql.find("\n", at)
            end = len(sql) if end < 0 else end
            out.append(sql[at:end])
            at = end
        elif char == "?":
            positional += 1
            out.append(f"${positional}")
            at += 1
        elif sql.startswith("::", at):
            out.append("::")
            at += 2
        elif char == ":" and at + 1 < len(sql) and sql[at + 1] in _NAME_START:
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
    if positional and names:
        raise ValueError(f"a statement mixes ? and :name parameters: {sql}")
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
