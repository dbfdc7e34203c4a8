"""Work done in parse worker processes: read, parse, validate and turn into rows.

Kept tiny on purpose: a worker imports only this module and what it needs (PyYAML, the pure
parser, the row builder), never discord.py or the scheduler.

A worker is a child process started by :mod:`bot.services.ingest.pool`. It reads chunks of
tasks from stdin and writes each chunk's results to stdout, as frames: an 8-byte big-endian
length, then a pickle (both ends are this module: nothing else is ever unpickled). It ignores
SIGINT — the parent decides when the work stops — and ends when stdin reaches its end, which
is also what happens when the parent dies, so a worker never outlives its parent.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from bot.domain.ingest import MARKDOWN_SUFFIXES, Rejection, parse_file, suffix_of, too_large
from bot.store.rows import ArticleRows, article_rows

if TYPE_CHECKING:
    from bot.domain.feeds import FeedDocument

HEADER = struct.Struct("!Q")

log = logging.getLogger(__name__)


class ParseTask(NamedTuple):
    display: str  # the path as the user sees it
    key: str  # absolute path: the file's identity in the store


class FeedTask(NamedTuple):
    """A fetched feed's body to parse (bot.domain.feeds)."""

    key: str  # the source's key
    url: str  # what relative links are resolved against
    body: bytes
    content_type: str | None


class FileResult(NamedTuple):
    key: str
    rows: tuple[ArticleRows, ...]
    rejections: tuple[Rejection, ...]


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


def parse_feed_task(task: FeedTask) -> FeedDocument:
    """Never raises: a bug costs this feed's fetch, not the run."""
    # feedparser is imported only by workers that read feeds
    from bot.domain.feeds import FeedDocument, parse_feed

    try:
        return parse_feed(task.body, url=task.url, content_type=task.content_type)
    except Exception as exc:
        log.exception("unexpected error while parsing the feed %s", task.key)
        return FeedDocument(None, None, (), f"internal error while parsing: {type(exc).__name__}")


def parse_chunk(tasks: Sequence[ParseTask | FeedTask], max_article_bytes: int) -> list[Any]:
    """FileResult for each ParseTask, FeedDocument for each FeedTask, in order."""
    return [
        parse_feed_task(task) if isinstance(task, FeedTask) else parse_one(task, max_article_bytes)
        for task in tasks
    ]


def frame(value: object) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the stream (the parent closed it, or died)."""
    data = stream.read(size)
    return data if len(data) == size else None


def serve(max_article_bytes: int) -> int:
    """The worker's main loop: a chunk of tasks in, its results out, until stdin ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print never corrupts a frame
    tasks_in = sys.stdin.buffer
    while (header := _read_exactly(tasks_in, HEADER.size)) is not None:
        payload = _read_exactly(tasks_in, HEADER.unpack(header)[0])
        if payload is None:
            break
        tasks: list[ParseTask | FeedTask] = pickle.loads(payload)  # noqa: S301 - written by our parent
        try:
            results.write(frame(parse_chunk(tasks, max_article_bytes)))
            results.flush()
        except BrokenPipeError:
            os._exit(0)  # the parent is gone: nobody wants the results (and nothing to flush)
    return 0
