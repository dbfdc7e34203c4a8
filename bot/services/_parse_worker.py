"""Work done in ingest worker processes: read, parse, validate and turn into rows.

Kept tiny on purpose: a spawned worker imports only this module and what it needs
(PyYAML, the pure parser, the row builder), never discord.py.
"""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

from bot.domain.parse import MARKDOWN_SUFFIXES, Rejection, parse_file, suffix_of, too_large
from bot.store.rows import ArticleRows, article_rows


class ParseTask(NamedTuple):
    display: str  # the path as the user sees it
    key: str  # absolute path: the file's identity in the store


class FileResult(NamedTuple):
    key: str
    rows: tuple[ArticleRows, ...]
    rejections: tuple[Rejection, ...]


log = logging.getLogger(__name__)


def parse_one(task: ParseTask, max_article_bytes: int) -> FileResult:
    """Never raises: whatever goes wrong with one file is that file's rejection."""
    try:
        with open(task.key, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if suffix_of(task.key) in MARKDOWN_SUFFIXES and size > max_article_bytes:
                error = too_large(size, max_article_bytes)
                return FileResult(task.key, (), (Rejection(task.display, error),))
            data = handle.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return FileResult(
            task.key, (), (Rejection(task.display, f"cannot read the file: {reason}"),)
        )
    try:
        parsed = parse_file(task.display, data, max_article_bytes=max_article_bytes)
        rows = tuple(article_rows(article, task.key) for article in parsed.articles)
    except Exception as exc:  # a bug must cost one file, not the run
        log.exception("unexpected error while parsing %s", task.display)
        error = f"internal error while parsing: {type(exc).__name__}: {exc}"
        return FileResult(task.key, (), (Rejection(task.display, error),))
    return FileResult(task.key, rows, tuple(parsed.rejections))


def parse_chunk(tasks: list[ParseTask], max_article_bytes: int) -> list[FileResult]:
    return [parse_one(task, max_article_bytes) for task in tasks]


def warm_up() -> bool:
    """Runs once in each new worker so the first real chunk does not pay for imports."""
    return True
