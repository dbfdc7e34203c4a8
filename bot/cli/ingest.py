"""``newsdesk ingest``: load article files; the summary is the result (stdout), nothing else."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO

from bot.cli.process import EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, say
from bot.domain.delivery_records import DeliveryRecord, from_json
from bot.domain.ingest import Rejection
from bot.errors import UsageError
from bot.settings import Settings
from bot.store.db import Database
from bot.store.outbox import Restored
from bot.wiring import ingestor, stores_of

PROGRESS_MINIMUM = 1000  # files to read before a progress bar is worth drawing


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal and the scan is large.

    ``[#####.....] 4,100/10,000 files 2,950/s ETA 2s``, redrawn at most five times a second.
    """

    def __init__(self, stream: IO[str], minimum: int = PROGRESS_MINIMUM) -> None:
        self.stream = stream
        self.minimum = minimum
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if total < self.minimum:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate else 0
        width = 30
        filled = int(width * done / total)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} files "
            f"{rate:,.0f}/s ETA {eta:,.0f}s "
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


async def ingest_command(
    settings: Settings,
    paths: list[Path],
    as_json: bool,
    rescan: bool,
    *,
    deliveries: Path | None = None,
    allow_withdrawals: bool = False,
) -> int:
    roots = paths or [source.path for source in settings.sources]
    if not roots:
        say("nothing to ingest: give PATH arguments or configure sources")
        return EXIT_UNUSABLE
    records, bad = read_records(deliveries) if deliveries is not None else ([], [])
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    stores = stores_of(await Database.open(settings.database.path), settings)
    try:
        await stores.articles.apply_published_policy()
        summary = await ingestor(settings, stores).ingest(
            roots,
            rescan=rescan,
            progress=progress,
            sources=not paths,  # paths given by hand never withdraw
            allow_withdrawals=allow_withdrawals,
        )
        if deliveries is not None:
            restored = await stores.outbox.restore(records)
            summary.deliveries = (summary.deliveries or Restored()) + restored
            summary.rejected += bad
    finally:
        await stores.db.close()
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        print(summary.counts())
        if summary.deliveries is not None:
            print(summary.deliveries.describe())
        for rejection in summary.rejected:
            print(f"rejected: {rejection}")
    for refused in summary.withdrawals_refused:
        say(str(refused))
    return EXIT_REJECTED if summary.rejected or summary.withdrawals_refused else EXIT_OK


def read_records(path: Path) -> tuple[list[DeliveryRecord], list[Rejection]]:
    """The delivery records of a file written by ``newsdesk export --deliveries``; each bad
    line is a rejection (with its line number), the others are restored."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the delivery records: {exc}") from None
    records: list[DeliveryRecord] = []
    bad: list[Rejection] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(from_json(json.loads(line)))
        except json.JSONDecodeError as exc:
            bad.append(Rejection(str(path), f"invalid JSON: {exc.msg}", number, exc.colno))
        except ValueError as exc:
            bad.append(Rejection(str(path), f"not a delivery record: {exc}", number))
    return records, bad
