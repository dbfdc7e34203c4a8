"""When the files gone from a source may withdraw their articles (pure): the safety rules.

An unmounted volume, a half-synced directory or a wrong path looks like a source whose files
were all deleted; acting on it would mark or delete a channel's whole history. So a scan of a
source withdraws nothing when:

* a directory under it could not be read (its files only look gone), whatever the flags;
* no file at all was found under it (an emptied or unmounted directory);
* it would withdraw more than ``ingest.withdraw_limit`` of the source's articles at once
  (a source of fewer than :data:`EXEMPT_BELOW` articles is exempt: one removal is 5% of 20).

``newsdesk ingest --allow-withdrawals`` lets the last two through, for a real mass removal.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.values import format_percent

EXEMPT_BELOW = 20  # sources with fewer articles than this are exempt from withdraw_limit
ALLOW_HINT = "if the removal is real, run `newsdesk ingest --allow-withdrawals` once"


@dataclass(frozen=True, slots=True)
class SourceScan:
    """What one scan saw of a source directory."""

    files_found: int  # files under it now
    unreadable: bool  # a directory under it could not be listed
    articles: int  # articles its remembered files carried before the scan
    withdrawing: int  # of them, how many the gone files would withdraw


def refusal(scan: SourceScan, *, limit: float, allow: bool) -> str | None:
    """Why the scan must withdraw nothing (one line, with what to do), or None: go ahead."""
    if scan.withdrawing == 0:
        return None
    if scan.unreadable:
        return (
            "a directory under it could not be read, so its files only look gone; "
            "fix its permissions"
        )
    if allow:
        return None
    if scan.files_found == 0:
        return (
            f"it is empty, which would withdraw all {scan.withdrawing} of its articles "
            f"(an unmounted volume?); {ALLOW_HINT}"
        )
    if scan.articles >= EXEMPT_BELOW and scan.withdrawing > limit * scan.articles:
        return (
            f"{scan.withdrawing} of its {scan.articles} articles would be withdrawn, more than "
            f"ingest.withdraw_limit ({format_percent(limit)}); {ALLOW_HINT}"
        )
    return None
