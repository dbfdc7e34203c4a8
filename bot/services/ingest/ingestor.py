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
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.ingest import LIBYAML, Rejection
from bot.services.ingest.batches import RANK, UNCHANGED, Batches, Plan
from bot.services.ingest.discovery import SourceFile, discover, stat_files
from bot.services.ingest.pool import ParsePool
from bot.services.ingest.withdrawals import (
    Refused,
    ScannedRoot,
    Withdrawals,
    settle,
    settle_deleted,
)
from bot.services.ingest.worker import FileResult, ParseTask, parse_chunk
from bot.settings import IngestSettings
from bot.store.articles import ArticleStore
from bot.store.outbox import Outbox, Restored
from bot.store.withdrawals import WithdrawalStore

log = logging.getLogger(__name__)

POOL_THRESHOLD = 400  # fewer files than this to parse: a thread is cheaper than a pool
CHUNK_FILES = 100  # files per task sent to a worker process
THREAD_CHUNK = 50  # files parsed per thread hop when no pool is used
STATE_CHUNK = 1000  # files whose remembered state is looked up in one query
BATCH_ARTICLES = 1000  # articles per write transaction
ProgressCallback = Callable[[int, int], None]
_Withdraw = Callable[[Callable[[str], bool]], Awaitable[Withdrawals]]  # given what is carried


@dataclass(frozen=True, slots=True)
class TreeChange:
    """What changed in a source directory that knows it (a git checkout)."""

    root: Path  # absolute, as are the paths below
    display: str  # the source, as shown
    files: Sequence[Path]  # the files to read
    deleted: Sequence[Path] | None  # None: ``files`` are all the source holds now


@dataclass(slots=True)
class RootCounts:
    display: str
    new: int = 0
    updated: int = 0
    withdrawn: int = 0


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
    withdrawn: int = 0  # articles whose files are gone from their source (scans of sources)
    withdrawals_refused: list[Refused] = field(default_factory=list)
    # per configured source directory (scans of sources): what it added and withdrew
    roots: list[RootCounts] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [r.as_dict() for r in self.rejected],
            "withdrawn": self.withdrawn,
            "withdrawals_refused": [r.as_dict() for r in self.withdrawals_refused],
        }
        if self.deliveries is not None:
            out["deliveries"] = {
                "restored": self.deliveries.restored,
                "kept": self.deliveries.kept,
                "unknown_article": self.deliveries.unknown,
            }
        return out

    def counts(self) -> str:
        withdrawn = f", {self.withdrawn} withdrawn" if self.withdrawn else ""
        return (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected{withdrawn}"
        )

    def describe(self) -> str:
        return (
            f"{self.counts()} ({self.files_seen} files, {self.files_parsed} read, "
            f"{self.seconds:.1f}s)"
        )


class Ingestor:
    """Loads source files into the archive. One instance per process; runs one scan at a time."""

    def __init__(
        self,
        store: ArticleStore,
        settings: IngestSettings,
        *,
        outbox: Outbox | None = None,
        withdrawals: WithdrawalStore | None = None,
        batch_articles: int = BATCH_ARTICLES,
    ) -> None:
        self.store = store
        self.outbox = outbox  # restores delivery records that older exports carry inline
        self.withdrawals = withdrawals  # None: this ingestor never withdraws
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
        sources: bool = False,
        allow_withdrawals: bool = False,
    ) -> IngestSummary:
        """Ingest ``paths``. ``sources``: they are the configured sources, so files gone from
        them withdraw their articles (bot.services.ingest.withdrawals); never for paths given
        by hand. ``allow_withdrawals`` lets a mass removal through the safety rules."""
        async with self._lock:
            started = time.perf_counter()
            unreadable: list[str] = []
            files = await asyncio.to_thread(discover, paths, unreadable)
            roots: list[ScannedRoot] = []
            if sources:
                roots = await asyncio.to_thread(_scanned_roots, paths, files, unreadable)
            withdraw = self._settler(roots, allow_withdrawals)
            summary = await self._ingest(files, roots, rescan, progress, withdraw)
            summary.seconds = time.perf_counter() - started
            return summary

    async def ingest_tree(self, tree: TreeChange, *, allow_withdrawals: bool) -> IngestSummary:
        """Ingest the files of one source directory that knows what changed in it (a git
        checkout): ``tree.files`` are read; with ``tree.deleted`` given only those files are
        gone, else ``tree.files`` are all the source holds (the others under it are gone)."""
        async with self._lock:
            started = time.perf_counter()
            files = await asyncio.to_thread(stat_files, tree.files)
            found = len(files) if tree.deleted is None else -1  # -1: unknown, not counted
            root = ScannedRoot(tree.display, os.fspath(tree.root), found, False)
            withdraw: _Withdraw | None
            if tree.deleted is None:
                withdraw = self._settler([root], allow_withdrawals)
            else:
                withdraw = self._deleter(root, tree.deleted, allow_withdrawals)
            summary = await self._ingest(files, [root], False, None, withdraw)
            summary.seconds = time.perf_counter() - started
            return summary

    def _settler(self, roots: list[ScannedRoot], allow: bool) -> _Withdraw | None:
        store = self.withdrawals
        if not roots or store is None:
            return None
        limit = self.settings.withdraw_limit
        return lambda carried: settle(store, roots, carried, limit=limit, allow=allow)

    def _deleter(self, root: ScannedRoot, deleted: Sequence[Path], allow: bool) -> _Withdraw | None:
        store = self.withdrawals
        if store is None:
            return None
        keys = [os.fspath(path) for path in deleted]
        limit = self.settings.withdraw_limit
        return lambda carried: settle_deleted(store, root, keys, carried, limit=limit, allow=allow)

    async def _ingest(
        self,
        files: list[SourceFile],
        roots: list[ScannedRoot],
        rescan: bool,
        progress: ProgressCallback | None,
        withdraw: _Withdraw | None,
    ) -> IngestSummary:
        summary = IngestSummary(files_seen=len(files))
        plan = await self._plan(files, rescan)
        del files
        summary.files_parsed = len(plan.to_parse)
        batches = Batches(
            self.store, self.outbox, plan, self.batch_articles, [root.key for root in roots]
        )
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
        summary.new = counts[RANK["new"]]
        summary.updated = counts[RANK["updated"]]
        summary.unchanged = counts[UNCHANGED]
        summary.rejected = sorted(
            plan.rejections + batches.rejections, key=lambda r: (r.path, str(r.item or 0).zfill(12))
        )
        summary.deliveries = batches.restored
        withdrawn_by_root: dict[str, int] = {}
        if withdraw is not None:
            outcomes = plan.outcomes
            done_withdrawals = await withdraw(lambda url: hash(url) in outcomes)
            summary.withdrawn = done_withdrawals.withdrawn
            summary.withdrawals_refused = done_withdrawals.refused
            withdrawn_by_root = done_withdrawals.by_root
        for root in roots:
            stored = batches.by_root[root.key]
            withdrawn = withdrawn_by_root.get(root.key, 0)
            summary.roots.append(
                RootCounts(root.display, stored["new"], stored["updated"], withdrawn)
            )
        if summary.new >= 5000:
            await self.store.analyze()
        return summary

    async def _plan(self, files: list[SourceFile], rescan: bool) -> Plan:
        plan = Plan()
        for start in range(0, len(files), STATE_CHUNK):
            part = files[start : start + STATE_CHUNK]
            known = {} if rescan else await self.store.file_states([f.key for f in part])
            for f in part:
                old = known.get(f.key)
                if old is None or not f.same_stat(old):
                    plan.to_parse.append(f)
                    continue
                for url in old.urls():
                    plan.outcomes[hash(url)] = UNCHANGED
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


def _scanned_roots(
    paths: Sequence[Path], files: Sequence[SourceFile], unreadable: Sequence[str]
) -> list[ScannedRoot]:
    """The source directories among ``paths``, with how many files were found under each
    (the paths of files and directories found under a root start with the root as given)."""
    roots = []
    for path in paths:
        if not path.is_dir():
            continue
        prefix = os.path.join(path, "")
        found = sum(1 for f in files if f.display.startswith(prefix))
        blind = any(os.path.join(d, "").startswith(prefix) for d in unreadable)
        roots.append(ScannedRoot(os.fspath(path), os.path.abspath(path), found, blind))
    return roots


def _rejection(data: dict[str, Any], display: str) -> Rejection:
    return Rejection(
        path=display,
        error=str(data.get("error", "")),
        line=data.get("line"),
        column=data.get("column"),
        item=data.get("item"),
    )
