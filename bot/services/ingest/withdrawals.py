"""Withdrawals after a scan of the configured sources: articles whose file is gone.

(:func:`settle` weighs a scanned directory; :func:`settle_deleted` the files a git source's
diff says are deleted, without looking at the rest.)

An article is withdrawn when a file it came from is gone from a source directory (the file
system says it is not there) and no file carries its URL any more: not one found by this scan,
not one remembered from elsewhere. A file that became unparseable is still there: that is a
rejection, and its article stays. Only a scan of the configured sources withdraws; ingesting
paths given on the command line never does. The safety rules are in bot.domain.withdrawals;
a refused source keeps its remembered files, so the next scan weighs them again.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain.withdrawals import SourceScan, refusal
from bot.store.withdrawals import WithdrawalStore

log = logging.getLogger(__name__)

_GONE = (errno.ENOENT, errno.ENOTDIR)


@dataclass(frozen=True, slots=True)
class ScannedRoot:
    """A source directory as this scan found it."""

    display: str  # as configured
    key: str  # absolute
    files_found: int  # -1: not counted (only what changed in it was looked at)
    unreadable: bool  # a directory under it could not be listed


@dataclass(frozen=True, slots=True)
class Refused:
    source: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.source}: withdrew nothing: {self.reason}"


@dataclass(slots=True)
class Withdrawals:
    withdrawn: int = 0
    refused: list[Refused] = field(default_factory=list)
    by_root: dict[str, int] = field(default_factory=dict)  # withdrawn, per root key


def _gone(paths: Sequence[str]) -> tuple[list[str], bool]:
    """Which remembered files are not there; and whether any could not be checked."""
    gone: list[str] = []
    unsure = False
    for path in paths:
        try:
            os.lstat(path)
        except OSError as exc:
            if exc.errno in _GONE:
                gone.append(path)
            else:
                unsure = True
    return gone, unsure


async def settle(
    store: WithdrawalStore,
    roots: Sequence[ScannedRoot],
    carried: Callable[[str], bool],
    *,
    limit: float,
    allow: bool,
) -> Withdrawals:
    """Withdraw the articles whose files are gone from ``roots``. ``carried(url)``: a file
    found by this scan carries it."""
    out = Withdrawals()
    keys = [root.key for root in roots]
    for root in roots:
        if await store.file_count(root.key) <= root.files_found:  # all were found again
            continue
        remembered = dict(await store.files_under(root.key))
        articles = sum(len(urls) for urls in remembered.values())
        gone, unsure = await asyncio.to_thread(_gone, list(remembered))
        gone_set = set(gone)
        # Files still there but not found by the scan (exports named by hand, hidden files)
        # carry their URLs too.
        kept = {url for path, urls in remembered.items() if path not in gone_set for url in urls}
        candidates = {
            url for path in gone for url in remembered[path] if not carried(url) and url not in kept
        }
        candidates -= await store.carried_outside(candidates, keys)
        live = await store.live(sorted(candidates))
        scan = SourceScan(root.files_found, root.unreadable or unsure, articles, len(live))
        reason = refusal(scan, limit=limit, allow=allow)
        if reason is not None:
            refused = Refused(root.display, reason)
            log.error("%s", refused)
            out.refused.append(refused)
            continue
        await store.withdraw(sorted(live.values()), gone)
        if live:
            log.info("%s: %d articles withdrawn (their files are gone)", root.display, len(live))
        out.withdrawn += len(live)
        out.by_root[root.key] = len(live)
    return out


async def settle_deleted(
    store: WithdrawalStore,
    root: ScannedRoot,
    deleted: Sequence[str],
    carried: Callable[[str], bool],
    *,
    limit: float,
    allow: bool,
) -> Withdrawals:
    """Withdraw the articles of ``deleted`` (absolute paths under ``root`` known to be gone:
    a git source's diff says so), unless another file carries them; the same safety rules as
    a scan, weighed against what the source held. ``carried(url)``: a file read by this
    ingest carries it."""
    out = Withdrawals()
    remembered = await store.files_at(deleted)
    if not remembered:
        return out
    candidates = {url for urls in remembered.values() for url in urls if not carried(url)}
    candidates -= await store.carried_elsewhere(candidates, remembered.keys())
    live = await store.live(sorted(candidates))
    if live:
        files_left = await store.file_count(root.key) - len(remembered)
        articles = await store.url_count(root.key)
        scan = SourceScan(files_left, False, articles, len(live))
        reason = refusal(scan, limit=limit, allow=allow)
        if reason is not None:
            refused = Refused(root.display, reason)
            log.error("%s", refused)
            out.refused.append(refused)
            return out
    await store.withdraw(sorted(live.values()), list(remembered))
    if live:
        log.info("%s: %d articles withdrawn (their files are gone)", root.display, len(live))
    out.withdrawn = len(live)
    out.by_root[root.key] = len(live)
    return out
