"""Ingestion: find source files, skip the unchanged ones, parse the rest, store them in batches.

* Unchanged files cost a ``stat``: size, mtime (ns), inode and ctime are compared with what the
  store remembers for the path; ``rescan`` forces a full re-read.
* Files are processed in sorted path order, so when two files carry the same URL the later
  one wins (also when the later one is unchanged and only the earlier one is re-read).
* Large runs parse on every core in a ``spawn`` process pool (forking after aiosqlite's and
  discord.py's threads have started is unsafe) with a bounded number of chunks in flight;
  small runs parse in a thread. Writes go to the store in bounded batches, one transaction
  each, so other writers and all readers get their turn during a long ingest.
* A bad file is reported (path, reason, line, column) and never stops the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import stat as stat_module
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from bot.domain.parse import LIBYAML, SCANNED_SUFFIXES, Rejection
from bot.services._parse_worker import FileResult, ParseTask, parse_chunk, warm_up
from bot.settings import IngestSettings
from bot.store.articles import ArticleStore, FileState, Outcome, StoredFile
from bot.store.rows import ArticleRows

log = logging.getLogger(__name__)

POOL_THRESHOLD = 400  # fewer files than this to parse: a thread is cheaper than a pool
CHUNK_FILES = 100  # files per task sent to a worker process
CHUNKS_IN_FLIGHT = 8  # per worker: enough queued work to cover one batch write
STATE_CHUNK = 1000  # files whose remembered state is looked up in one query
BATCH_ARTICLES = 1000  # articles per write transaction
_RANK: dict[str, int] = {"unchanged": 1, "updated": 2, "new": 3}
_UNCHANGED = _RANK["unchanged"]

ProgressCallback = Callable[[int, int], None]


class SourceError(Exception):
    """A path given to ingest does not exist or cannot be read."""


class SourceFile(NamedTuple):
    """A file found by :func:`discover`, with its current stat. Compact: 100,000 of these
    are held at once."""

    display: str  # the path as the user sees it
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int

    @property
    def key(self) -> str:
        """The file's identity in the store: its absolute path."""
        return os.path.abspath(self.display)

    def same_stat(self, stored: StoredFile) -> bool:
        return (
            self.size == stored.size
            and self.mtime_ns == stored.mtime_ns
            and self.inode == stored.inode
            and self.ctime_ns == stored.ctime_ns
        )


@dataclass(slots=True)
class IngestSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [r.as_dict() for r in self.rejected],
        }

    def describe(self) -> str:
        text = (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected ({self.files_seen} files, {self.files_parsed} read, "
            f"{self.seconds:.1f}s)"
        )
        return text


def discover(paths: Iterable[Path]) -> list[SourceFile]:
    """Every file under ``paths`` (recursively), sorted by path.

    A file named explicitly is taken whatever its suffix (and rejected later if unsupported);
    inside directories only .md/.markdown/.yaml/.yml files are taken (.json exports only
    when named), hidden entries are skipped, and a file reached twice (symlinks, nested
    roots) is taken once. Raises SourceError for a path that does not exist.
    """
    found: list[SourceFile] = []
    seen: dict[int, set[int]] = {}  # device -> inodes

    def add(display: str, st: os.stat_result) -> None:
        inodes = seen.setdefault(st.st_dev, set())
        if st.st_ino in inodes:
            return
        inodes.add(st.st_ino)
        found.append(SourceFile(display, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))

    for root in paths:
        text = os.fspath(root)
        try:
            st = os.stat(text)
        except FileNotFoundError:
            raise SourceError(f"{text}: no such file or directory") from None
        except OSError as exc:
            raise SourceError(f"{text}: {exc.strerror or exc}") from None
        if stat_module.S_ISDIR(st.st_mode):
            _walk(text, add)
        else:
            add(text, st)
    found.sort()
    return found


def _walk(directory: str, add: Callable[[str, os.stat_result], None]) -> None:
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:  # lazily: a directory may hold 100,000 files
                for entry in entries:
                    _visit(entry, stack, add)
        except OSError as exc:
            log.warning("cannot read directory %s: %s", current, exc.strerror or exc)


def _visit(
    entry: os.DirEntry[str], stack: list[str], add: Callable[[str, os.stat_result], None]
) -> None:
    name = entry.name
    if name.startswith("."):
        return
    try:
        if entry.is_dir():
            stack.append(entry.path)
            return
        dot = name.rfind(".")
        if dot <= 0 or name[dot:].lower() not in SCANNED_SUFFIXES or not entry.is_file():
            return
        add(entry.path, entry.stat())
    except OSError as exc:
        log.warning("cannot stat %s: %s", entry.path, exc.strerror or exc)


class Ingestor:
    """Loads source files into the archive. One instance per process; runs one scan at a time."""

    def __init__(self, store: ArticleStore, settings: IngestSettings) -> None:
        self.store = store
        self.settings = settings
        self._lock = asyncio.Lock()
        if not LIBYAML:
            log.warning(
                "PyYAML was built without libyaml: parsing will be about 9x slower. "
                "Install a PyYAML wheel that ships libyaml."
            )

    async def ingest(
        self,
        paths: Sequence[Path],
        *,
        rescan: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestSummary:
        async with self._lock:
            return await self._ingest(paths, rescan, progress)

    async def _ingest(
        self, paths: Sequence[Path], rescan: bool, progress: ProgressCallback | None
    ) -> IngestSummary:
        started = time.perf_counter()
        summary = IngestSummary()
        files = await asyncio.to_thread(discover, paths)
        summary.files_seen = len(files)

        # Outcomes are counted per distinct URL; keys are hash(url) to keep 100,000 of them small.
        outcomes: dict[int, int] = {}
        # url -> the latest (largest) path among unchanged files that carry the URL
        owner: dict[str, str] = {}
        to_parse: list[SourceFile] = []
        cached_rejections: list[Rejection] = []
        for start in range(0, len(files), STATE_CHUNK):
            part = files[start : start + STATE_CHUNK]
            known = {} if rescan else await self.store.file_states([f.key for f in part])
            for f in part:
                old = known.get(f.key)
                if old is None or not f.same_stat(old):
                    to_parse.append(f)
                    continue
                for url in old.urls():
                    outcomes[hash(url)] = _UNCHANGED
                    owner[url] = f.display  # files come in sorted order: the last one wins
                cached_rejections.extend(_rejection(r, f.display) for r in old.rejections())
        del files
        summary.files_parsed = len(to_parse)

        rejections: list[Rejection] = []
        pending_rows: list[ArticleRows] = []
        pending_files: list[FileState] = []
        writing: asyncio.Task[None] | None = None

        displays: dict[str, str] = {}  # file key -> the path as the user sees it

        async def write(rows: list[ArticleRows], states: list[FileState]) -> None:
            try:
                result = await self.store.apply_batch(rows, states)
            except Exception:
                # Something in the batch cannot be stored (a bug, or data the parser let
                # through): store its files one by one, so that only the culprit is rejected.
                log.exception("a batch could not be stored; storing its files one by one")
                result = await self._apply_one_by_one(rows, states, displays, rejections)
            for state in states:
                displays.pop(state.path, None)
            for url, outcome in result.items():
                h = hash(url)
                rank = _RANK[outcome]
                if rank > outcomes.get(h, 0):
                    outcomes[h] = rank

        async def flush() -> None:
            """Store the pending batch in the background while parsing goes on.

            Batches are stored strictly in order: the previous one must be done first.
            """
            nonlocal writing, pending_rows, pending_files
            if writing is not None:
                await writing
                writing = None
            if pending_rows or pending_files:
                writing = asyncio.create_task(write(pending_rows, pending_files))
                pending_rows, pending_files = [], []

        done = 0
        try:
            async for source, result in self._parse(to_parse):
                urls: list[str] = []
                for rows in result.rows:
                    urls.append(rows.url)
                    later = owner.get(rows.url)
                    if later is not None and later > source.display:
                        continue  # a later, unchanged file carries this URL: it wins
                    pending_rows.append(rows)
                rejections.extend(result.rejections)
                displays[result.key] = source.display
                pending_files.append(
                    FileState(
                        result.key,
                        source.size,
                        source.mtime_ns,
                        source.inode,
                        source.ctime_ns,
                        tuple(dict.fromkeys(urls)),
                        tuple(r.as_dict() for r in result.rejections),
                    )
                )
                done += 1
                if len(pending_rows) >= BATCH_ARTICLES or len(pending_files) >= BATCH_ARTICLES:
                    await flush()
                if progress is not None:
                    progress(done, len(to_parse))
            await flush()
            await flush()  # the last batch, started by the call above
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing

        counts = Counter(outcomes.values())
        summary.new = counts[_RANK["new"]]
        summary.updated = counts[_RANK["updated"]]
        summary.unchanged = counts[_UNCHANGED]
        summary.rejected = sorted(
            cached_rejections + rejections, key=lambda r: (r.path, r.item or 0)
        )
        if summary.new >= 5000:
            await self.store.analyze()
        summary.seconds = time.perf_counter() - started
        return summary

    async def _apply_one_by_one(
        self,
        rows: list[ArticleRows],
        states: list[FileState],
        displays: dict[str, str],
        rejections: list[Rejection],
    ) -> dict[str, Outcome]:
        by_file: dict[str | None, list[ArticleRows]] = {}
        for row in rows:
            by_file.setdefault(row.source_path, []).append(row)
        result: dict[str, Outcome] = {}
        for state in states:
            try:
                result.update(await self.store.apply_batch(by_file.get(state.path, []), [state]))
            except Exception as exc:
                log.exception("could not store %s", state.path)
                rejection = Rejection(
                    displays.get(state.path, state.path),
                    f"could not be stored: {type(exc).__name__}: {exc}",
                )
                rejections.append(rejection)
                # Remember it as rejected, so that an unchanged file is not retried every scan.
                with contextlib.suppress(Exception):
                    await self.store.apply_batch(
                        [], [replace(state, urls=(), rejections=(rejection.as_dict(),))]
                    )
        return result

    async def _parse(
        self, files: Sequence[SourceFile]
    ) -> AsyncIterator[tuple[SourceFile, FileResult]]:
        """Parse ``files``; yield (file, result) in the order of ``files``."""
        cap = self.settings.max_article_bytes

        def chunks(size: int) -> Iterator[tuple[Sequence[SourceFile], list[ParseTask]]]:
            for start in range(0, len(files), size):
                part = files[start : start + size]
                yield part, [ParseTask(f.display, f.key) for f in part]

        if len(files) < POOL_THRESHOLD:
            for part, tasks in chunks(50):
                results = await asyncio.to_thread(parse_chunk, tasks, cap)
                for pair in zip(part, results, strict=True):
                    yield pair
            return
        workers = self.settings.workers or os.cpu_count() or 1
        loop = asyncio.get_running_loop()
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        window: deque[tuple[Sequence[SourceFile], Future[list[FileResult]]]] = deque()
        try:
            # Start every worker before the first real chunk, so they import in parallel.
            await asyncio.gather(*(loop.run_in_executor(pool, warm_up) for _ in range(workers)))
            for part, tasks in chunks(CHUNK_FILES):
                window.append((part, pool.submit(parse_chunk, tasks, cap)))
                if len(window) >= workers * CHUNKS_IN_FLIGHT:
                    part, future = window.popleft()
                    for pair in zip(part, await _result(future), strict=True):
                        yield pair
            while window:
                part, future = window.popleft()
                for pair in zip(part, await _result(future), strict=True):
                    yield pair
        finally:
            for _, future in window:
                future.cancel()
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


async def _result(future: Future[list[FileResult]]) -> list[FileResult]:
    result: list[FileResult] = await asyncio.wrap_future(future)
    return result


def _rejection(data: dict[str, Any], display: str) -> Rejection:
    return Rejection(
        path=display,
        error=str(data.get("error", "")),
        line=data.get("line"),
        column=data.get("column"),
        item=data.get("item"),
    )
