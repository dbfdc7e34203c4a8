"""Why an article was not stored: an error with its place, and the record of a rejection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.models import Article


class InvalidArticleError(ValueError):
    """One article (a file, or an item of a YAML list) cannot be used, and why."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file, or an item of a YAML file, that was not stored."""

    path: str
    error: str
    line: int | None = None
    column: int | None = None
    item: int | str | None = None  # 1-based position in a YAML file; a feed item's guid

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "error": self.error,
            "line": self.line,
            "column": self.column,
        }
        if self.item is not None:
            out["item"] = self.item
        return out

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.item is not None:
            where += f" (item {self.item})"
        return f"{where}: {self.error}"


@dataclass(slots=True)
class ParsedFile:
    path: str
    articles: list[Article] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
