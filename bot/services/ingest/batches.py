"""The write side of an ingest: parse results, in file order, stored in batches.

One batch is stored in the background while the next is collected; batches are stored
strictly in order. Later file wins, without the earlier file ever being written (see
:class:`Batches`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.domain.delivery_records import DeliveryRecord
from bot.domain.ingest import Rejection
from bot.services.ingest.discovery import SourceFile
from bot.services.ingest.worker import FileResult
from bot.store.articles import ArticleStore, BatchResult, FileState
from bot.store.outbox import Outbox, Restored
from bot.store.rows import ArticleRows

log = logging.getLogger(__name__)

RANK: dict[str, int] = {"unchanged": 1, "updated": 2, "new": 3}
UNCHANGED = RANK["unchanged"]

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


@dataclass(slots=True)
class Plan:
    """What the remembered file states say before anything is read."""

    to_parse: list[SourceFile] = field(default_factory=list)
    outcomes: dict[int, int] = field(default_factory=dict)  # hash(url) -> best outcome rank
    owner: dict[str, str] = field(default_factory=dict)  # url -> latest unchanged file's display
    rejections: list[Rejection] = field(default_factory=list)  # of unchanged files


class Batches:
    """Collects parse results in file order and stores them in batches, one in the background.

    Later file wins: a row is dropped when a later unchanged file carries its URL (``owner``);
    when the stored article came from a file of this scan that has not been read yet, the row
    is held (the store hands it back instead of writing it) until that file is read: if that
    file, or any file read meanwhile, carries the URL, the held row is dropped, else stored.
    """

    def __init__(
        self,
        store: ArticleStore,
        outbox: Outbox | None,
        plan: Plan,
        batch_articles: int,
        roots: Sequence[str] = (),
    ) -> None:
        self.store = store
        # per source directory (absolute, as given in roots): articles new and updated
        self.roots = [(os.path.join(root, ""), root) for root in roots]
        self.by_root: dict[str, Counter[str]] = {root: Counter() for root in roots}
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
            rank = RANK[outcome]
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
        if self.roots:
            self._count_by_root(rows, result)
        if records and self.outbox is not None:  # once their articles are stored
            done = await self.outbox.restore(records)
            self.restored = done if self.restored is None else self.restored + done
        return result

    def _count_by_root(self, rows: list[ArticleRows], result: BatchResult) -> None:
        for row in rows:
            outcome = result.outcomes.get(row.url)
            if outcome == "unchanged" or outcome is None or row.source_path is None:
                continue
            for prefix, root in self.roots:
                if row.source_path.startswith(prefix):
                    self.by_root[root][outcome] += 1
                    break

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
            total.reshown.extend(one.reshown)
        return total
