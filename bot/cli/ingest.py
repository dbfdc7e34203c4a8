"""``newsdesk ingest``: load article files, fetch the git sources and the feeds; the summary
is the result (stdout), nothing else."""

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
from bot.net.fetch import Fetcher
from bot.services.ingest.ingestor import IngestSummary
from bot.services.sources.reports import SourceReport
from bot.settings import Settings
from bot.settings.sources import feed_sources, git_sources, source_paths
from bot.store.db import Database
from bot.store.outbox import Restored
from bot.wiring import feed_poller, fetch_policy, git_poller, ingestor, stores_of

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
    roots = paths or source_paths(settings.sources)
    feeds = [] if paths else feed_sources(settings.sources)  # paths given by hand: only them
    gits = [] if paths else git_sources(settings.sources)
    if not roots and not feeds and not gits:
        say("nothing to ingest: give PATH arguments or configure sources")
        return EXIT_UNUSABLE
    records, bad = read_records(deliveries) if deliveries is not None else ([], [])
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    stores = stores_of(await Database.open(settings.database.sqlite("ingest")), settings)
    reports: list[SourceReport] = []
    try:
        await stores.articles.apply_published_policy()
        summary = IngestSummary()
        ingest = ingestor(settings, stores)
        if roots:
            summary = await ingest.ingest(
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
        if gits:
            reports += await git_poller(settings, stores, ingest).poll(
                gits, allow_withdrawals=allow_withdrawals
            )
        if feeds:
            async with Fetcher(fetch_policy(settings)) as fetcher:
                reports += await feed_poller(settings, stores, fetcher).poll()
    finally:
        await stores.db.close()
    if not paths:
        reports = path_reports(summary) + reports
    for report in reports:
        if report.kind != "path":
            summary.new += report.new
            summary.updated += report.updated
            summary.withdrawn += report.withdrawn
            summary.rejected += report.rejected
            summary.withdrawals_refused += report.refused
    failed = [r for r in reports if r.outcome == "failed"]
    if as_json:
        out = summary.as_dict()
        if not paths:
            out["sources"] = [report.as_dict() for report in reports]
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(summary.counts())
        if summary.deliveries is not None:
            print(summary.deliveries.describe())
        for rejection in summary.rejected:
            print(f"rejected: {rejection}")
        for report in reports:
            if report.kind != "path":
                print(report.describe())
    for refused in summary.withdrawals_refused:
        say(str(refused))
    for report in failed:
        say(report.describe())
    if summary.rejected or summary.withdrawals_refused or failed:
        return EXIT_REJECTED
    return EXIT_OK


def path_reports(summary: IngestSummary) -> list[SourceReport]:
    """The directory sources' entries of the ``sources`` list."""
    refused = {r.source: f"withdrew nothing: {r.reason}" for r in summary.withdrawals_refused}
    return [
        SourceReport(
            root.display,
            "path",
            "ok",
            new=root.new,
            updated=root.updated,
            withdrawn=root.withdrawn,
            error=refused.get(root.display),
        )
        for root in summary.roots
    ]


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
