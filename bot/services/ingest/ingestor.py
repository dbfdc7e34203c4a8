"""Ingestion: skip the unchanged files, parse the rest, store them in batches.

* Unchanged files cost a ``stat``: size, mtime (ns), inode and ctime are compared with what the
  store remembers for the path; ``rescan`` forces a full re-read.
* Files are processed in sorted path order, and when two files carry the same URL the later
  one wins — without the earlier one ever being written: an unchanged later file keeps it, and
  a re-read earlier file whose article was stored from a later file of this scan is held back
  until that file has been read (see :class:`_Batches`). So a rescan of unchanged files writes
  no article.
* Large runs parse in worker processes (:mod:`bot.services.ingest.pool`) with a bounded number
  of chunks in flight; small runs parse in a thread. Writes go to the store in bounded batches,
  one transaction each, so other writers and all readers get their turn during a long ingest.
* A bad file is reported (path, reason, line, column) and never stops the run. A batch the
  store cannot take because of its data is stored file by file, so only the culprit is
  rejected; a store that cannot write at all (locked, full, read-only) ends the run, keeping
  the batches committed so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.domain.delivery_records import DeliveryRecord
from bot.domain.ingest import LIBYAML, Rejection
from bot.services.ingest.discovery import SourceFile, discover
from bot.services.ingest.pool import ParsePool
from bot.services.ingest.worker import FileResult, ParseTask, parse_chunk
from bot.settings import IngestSettings
from bot.store.articles import ArticleStore, BatchResult, FileState
from bot.store.outbox import Outbox, Restored
from bot.store.rows import ArticleRows

log = logging.getLogger(__name__)

POOL_THRESHOLD = 400  # fewer files than this to parse: a thread is cheaper than a pool
CHUNK_FILES = 100  # files per task sent to a worker process
THREAD_CHUNK = 50  # files parsed per thread hop when no pool is used
STATE_CHUNK = 1000  # files whose remembered state is looked up in one query
BATCH_ARTICLES = 1000  # articles per write transaction
_RANK: dict[str, int] = {"unchanged": 1, "updated": 2, "new": 3}
_UNCHANGED = _RANK["unchanged"]
# What a batch's data (not the database) can get wrong: stored file by file instead.
_DATA_ERRORS = (
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
    ValueError,
    TypeError,
    OverflowError,
)

ProgressCallback = Callable[[int, int], None]


@dataclass(slots=True)
class IngestSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    seconds: float = 0.0
    deliveries: Restored | None = None  # delivery records restored (older exports, --deliveries)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [r.as_dict() for r in self.rejected],
        }
        if self.deliveries is not None:
            out["deliveries"] = {
                "restored": self.deliveries.restored,
                "kept": self.deliveries.kept,
                "unknown_article": self.deliveries.unknown,
            }
        return out

    def counts(self) -> str:
        return (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        )

    def describe(self) -> str:
        return (
            f"{self.counts()} ({self.files_seen} files, {self.files_parsed} read, "
            f"{self.seconds:.1f}s)"
        )


@dataclass(slots=True)
class _Plan:
    """What the remembered file states say before anything is read."""

    to_parse: list[SourceFile] = field(default_factory=list)
    outcomes: dict[int, int] = field(default_factory=dict)  # hash(url) -> best outcome rank
    owner: dict[str, str] = field(default_factory=dict)  # url -> latest unchanged file's display
    rejections: list[Rejection] = field(default_factory=list)  # of unchanged files


class _Batches:
    """Collects parse results in file order and stores them in batches, one in the background.

    Later file wins: a row is dropped when a later unchanged file carries its URL (``owner``);
    when the stored article came from a file of this scan that has not been read yet, the row
    is held (the store hands it back instead of writing it) until that file is read: if that
    file, or any file read meanwhile, carries the URL, the held row is dropped, else stored.
    """

    def __init__(
        self, store: ArticleStore, outbox: Outbox | None, plan: _Plan, batch_articles: int
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.restored: Restored | None = None
        self.records: list[DeliveryRecord] = []  # carried inline by articles of older exports
        self.plan = plan
        self.batch_articles = batch_articles
        self.positions = {f.key: n for n, f in enumerate(plan.to_parse)}
        self.rejections: list[Rejection] = []
        self.rows: list[ArticleRows] = []
        self.files: list[FileState] = []
        self.batch_urls: set[str] = set()  # URLs of the files read since the last flush
        self.displays: dict[str, str] = {}  # file key -> the path as the user sees it
        self.held: dict[
            str, tuple[str, ArticleRows, str]
        ] = {}  # url -> (awaited key, rows, display)
        self.position = -1  # of the last file read
        self.writing: asyncio.Task[BatchResult] | None = None
        self.writing_keys: list[str] = []  # the files of the batch being written

    def add(self, source: SourceFile, result: FileResult) -> None:
        self.position = self.positions[source.key]
        urls = list(dict.fromkeys(rows.url for rows in result.rows))
        for url in urls:
            self.held.pop(url, None)  # a later file carries it: the held row lost
        for url, (awaited, rows, display) in list(self.held.items()):
            if awaited == result.key:  # the file it waited for no longer carries the URL
                del self.held[url]
                self._emit(rows, display)
        for rows in result.rows:
            self._emit(rows, source.display)
            self.records.extend(rows.deliveries)
        self.batch_urls.update(urls)
        self.rejections.extend(result.rejections)
        self.displays[result.key] = source.display
        self.files.append(
            FileState(
                result.key,
                source.size,
                source.mtime_ns,
                source.inode,
                source.ctime_ns,
                tuple(urls),
                tuple(r.as_dict() for r in result.rejections),
            )
        )

    def _emit(self, rows: ArticleRows, display: str) -> None:
        later = self.plan.owner.get(rows.url)
        if later is None or later <= display:  # else a later, unchanged file carries it
            self.rows.append(rows)

    def full(self) -> bool:
        return len(self.rows) >= self.batch_articles or len(self.files) >= self.batch_articles

    async def flush(self) -> None:
        """Start storing what was collected; the previous batch must be stored first."""
        await self._settle()
        if self.rows or self.files:
            last = self.position
            positions = self.positions
            self.writing = asyncio.create_task(
                self._write(
                    self.rows,
                    self.files,
                    self.records,
                    lambda key: positions.get(key, -1) > last,
                )
            )
            self.writing_keys = [state.path for state in self.files]
            self.rows, self.files, self.batch_urls, self.records = [], [], set(), []

    async def finish(self) -> None:
        await self.flush()
        await self._settle()
        for _, rows, display in self.held.values():  # their file was never read (cannot be)
            self._emit(rows, display)
        self.held.clear()
        await self.flush()
        await self._settle()

    async def abort(self, *, cancelled: bool) -> None:
        """Leave the store consistent: a batch being written is finished (or rolled back)."""
        if self.writing is None or self.writing.done():
            return
        if cancelled:
            self.writing.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self.writing

    async def _settle(self) -> None:
        if self.writing is None:
            return
        result = await self.writing
        self.writing = None
        for url, outcome in result.outcomes.items():
            h = hash(url)
            rank = _RANK[outcome]
            if rank > self.plan.outcomes.get(h, 0):
                self.plan.outcomes[h] = rank
        for awaited, rows in result.held:
            display = self.displays.get(rows.source_path or "", rows.source_path or "")
            if rows.url in self.batch_urls:
                continue  # a later file read meanwhile carries it
            if self.positions.get(awaited, -1) <= self.position:
                self._emit(rows, display)  # that file was read and no longer carries it
            else:
                self.held[rows.url] = (awaited, rows, display)
        for key in self.writing_keys:
            self.displays.pop(key, None)
        self.writing_keys = []

    async def _write(
        self,
        rows: list[ArticleRows],
        states: list[FileState],
        records: list[DeliveryRecord],
        hold: Callable[[str], bool],
    ) -> BatchResult:
        try:
            result = await self.store.apply_batch(rows, states, hold=hold)
        except _DATA_ERRORS:
            # Something in the batch cannot be stored (a bug, or data the parser let through):
            # store its files one by one, so that only the culprit is rejected.
            log.exception("a batch could not be stored; storing its files one by one")
            result = await self._apply_one_by_one(rows, states, hold)
        if records and self.outbox is not None:  # once their articles are stored
            done = await self.outbox.restore(records)
            self.restored = done if self.restored is None else self.restored + done
        return result

    async def _apply_one_by_one(
        self, rows: list[ArticleRows], states: list[FileState], hold: Callable[[str], bool]
    ) -> BatchResult:
        by_file: dict[str | None, list[ArticleRows]] = {}
        for row in rows:
            by_file.setdefault(row.source_path, []).append(row)
        total = BatchResult({}, [])
        for state in states:
            try:
                one = await self.store.apply_batch(by_file.get(state.path, []), [state], hold=hold)
            except _DATA_ERRORS as exc:
                log.exception("could not store %s", state.path)
                rejection = Rejection(
                    self.displays.get(state.path, state.path),
                    f"could not be stored: {type(exc).__name__}: {exc}",
                )
                self.rejections.append(rejection)
                # Remember it as rejected, so that an unchanged file is not retried every scan.
                bad = replace(state, urls=(), rejections=(rejection.as_dict(),))
                with contextlib.suppress(*_DATA_ERRORS):
                    await self.store.apply_batch([], [bad])
                continue
            total.outcomes.update(one.outcomes)
            total.held.extend(one.held)
        return total


class Ingestor:
    """Loads source files into the archive. One instance per process; runs one scan at a time."""

    def __init__(
        self,
        store: ArticleStore,
        settings: IngestSettings,
        *,
        outbox: Outbox | None = None,
        batch_articles: int = BATCH_ARTICLES,
    ) -> None:
        self.store = store
        self.outbox = outbox  # restores delivery records that older exports carry inline
        self.settings = settings
        self.batch_articles = batch_articles
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
        files = await asyncio.to_thread(discover, paths)
        summary = IngestSummary(files_seen=len(files))
        plan = await self._plan(files, rescan)
        del files
        summary.files_parsed = len(plan.to_parse)
        batches = _Batches(self.store, self.outbox, plan, self.batch_articles)
        done = 0
        try:
            async with contextlib.aclosing(self._parse(plan.to_parse)) as results:
                async for source, result in results:
                    batches.add(source, result)
                    if batches.full():
                        await batches.flush()
                    done += 1
                    if progress is not None:
                        progress(done, len(plan.to_parse))
            await batches.finish()
        except asyncio.CancelledError:
            await batches.abort(cancelled=True)
            raise
        except BaseException:
            await batches.abort(cancelled=False)
            raise

        counts = Counter(plan.outcomes.values())
        summary.new = counts[_RANK["new"]]
        summary.updated = counts[_RANK["updated"]]
        summary.unchanged = counts[_UNCHANGED]
        summary.rejected = sorted(
            plan.rejections + batches.rejections, key=lambda r: (r.path, r.item or 0)
        )
        summary.deliveries = batches.restored
        if summary.new >= 5000:
            await self.store.analyze()
        summary.seconds = time.perf_counter() - started
        return summary

    async def _plan(self, files: list[SourceFile], rescan: bool) -> _Plan:
        plan = _Plan()
        for start in range(0, len(files), STATE_CHUNK):
            part = files[start : start + STATE_CHUNK]
            known = {} if rescan else await self.store.file_states([f.key for f in part])
            for f in part:
                old = known.get(f.key)
                if old is None or not f.same_stat(old):
                    plan.to_parse.append(f)
                    continue
                for url in old.urls():
                    plan.outcomes[hash(url)] = _UNCHANGED
                    plan.owner[url] = f.display  # files come in sorted order: the last one wins
                plan.rejections.extend(_rejection(r, f.display) for r in old.rejections())
        return plan

    async def _parse(
        self, files: Sequence[SourceFile]
    ) -> AsyncGenerator[tuple[SourceFile, FileResult], None]:
        """Parse ``files``; yield (file, result) in the order of ``files``."""
        cap = self.settings.max_article_bytes

        def chunks(size: int) -> Iterator[tuple[Sequence[SourceFile], list[ParseTask]]]:
            for start in range(0, len(files), size):
                part = files[start : start + size]
                yield part, [ParseTask(f.display, f.key) for f in part]

        if len(files) < POOL_THRESHOLD:
            for part, tasks in chunks(THREAD_CHUNK):
                results = await asyncio.to_thread(parse_chunk, tasks, cap)
                for pair in zip(part, results, strict=True):
                    yield pair
            return
        workers = self.settings.workers or os.cpu_count() or 1
        async with ParsePool(workers, cap) as pool:
            async for part, results in pool.map(chunks(CHUNK_FILES)):
                for pair in zip(part, results, strict=True):
                    yield pair


def _rejection(data: dict[str, Any], display: str) -> Rejection:
    return Rejection(
        path=display,
        error=str(data.get("error", "")),
        line=data.get("line"),
        column=data.get("column"),
        item=data.get("item"),
    )
