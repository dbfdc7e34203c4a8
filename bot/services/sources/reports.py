"""What one fetch of a source (or one scan of a directory source) did: the ``sources`` list of
``newsdesk ingest --json``, the status lines, the alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.domain.ingest import Rejection
from bot.services.ingest.withdrawals import Refused

Outcome = Literal["ok", "not_modified", "failed", "disabled"]
FAILURES_TOLD = 5  # failures in a row after which the operators are told


@dataclass(slots=True)
class SourceReport:
    source: str  # the path, or the URL with credentials redacted
    kind: Literal["path", "git", "feed"]
    outcome: Outcome
    http_status: int | None = None
    new: int = 0
    updated: int = 0
    withdrawn: int = 0
    error: str | None = None
    rejected: list[Rejection] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)  # withdrawals the safety rules refused
    failures: int = 0  # in a row, this one included
    gone: bool = False  # this fetch found the feed gone (410): it is now disabled
    moved_to: str | None = None  # a permanent redirect's target
    next_fetch_at: datetime | None = None
    guild_id: int | None = None  # a feed that server added from Discord; None: the config's

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "new": self.new,
            "updated": self.updated,
            "withdrawn": self.withdrawn,
            "error": self.error,
        }

    def fix(self) -> str:
        """Where the source is removed or changed: the config file, or Discord."""
        if self.guild_id is not None:
            return "remove it with /newsadmin source remove"
        return "remove it from the config"

    def describe(self) -> str:
        if self.outcome == "failed":
            return f"{self.source}: failed: {self.error}"
        if self.outcome == "disabled":
            return f"{self.source}: disabled: {self.error or 'the feed is gone (HTTP 410)'}"
        if self.outcome == "not_modified":
            return f"{self.source}: not modified"
        rejected = f", {len(self.rejected)} rejected" if self.rejected else ""
        withdrawn = f", {self.withdrawn} withdrawn" if self.withdrawn else ""
        return f"{self.source}: {self.new} new, {self.updated} updated{rejected}{withdrawn}"

    def alert(self) -> str | None:
        """What the operators are told about this fetch, if anything."""
        if self.gone:
            return f"Newsdesk source {self.source} is gone (HTTP 410): it is disabled; {self.fix()}"
        if self.outcome == "failed" and self.failures == FAILURES_TOLD:
            return (
                f"Newsdesk source {self.source} failed {self.failures} times in a row "
                f"(retrying with backoff): {self.error}"
            )
        return None
