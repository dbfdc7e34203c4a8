"""Polling git sources: fetch each on its own interval, ingest only what changed.

* Each source has its own checkout in ``git.checkouts`` (a folder named after its URL as
  shown), cloned shallow once, then fetched (bot.net.git: safe transports, no credentials
  on disk, size and time bounds) and moved to the remote's head.
* The commit last ingested is stored (``sources.git_commit``) only once everything up to it is
  stored and its withdrawals settled: after a crash, or a withdrawal the safety rules refused,
  the next poll makes the same move again, which costs a stat per file it reads again.
* When the new head descends from that commit, and the branch and paths are those it was read
  with, only the files ``git diff`` names are read, and the deleted ones are withdrawn (unless
  another file carries their URL). Otherwise (the first fetch, a force-push or rewritten
  branch, other paths, a checkout made again) the whole checkout is read: unchanged files cost
  a stat, and the files gone from it are withdrawn by the usual rules.
* A checkout that git cannot read is cloned again; a failed fetch changes nothing stored.
* Its files rank with directory sources, above every feed (see bot.services.sources.feeds).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from bot.domain.fetch_schedule import next_fetch
from bot.net.git import Repository
from bot.net.git_remote import GitError, GitPolicy, Remote
from bot.services.ingest.ingestor import Ingestor, IngestSummary, TreeChange
from bot.services.sources.due import DueTimes
from bot.services.sources.reports import SourceReport
from bot.settings import SourceSettings
from bot.store.sources import FetchRecord, SourceState, SourceStore

log = logging.getLogger(__name__)


def checkout_name(source: SourceSettings) -> str:
    """The folder of a source's checkout: readable, and unique to its URL as shown."""
    readable = re.sub(r"^[a-z]+:/+", "", source.display).replace("***", "")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-.")[:60]
    digest = hashlib.sha256(source.key.encode()).hexdigest()[:12]
    return f"{readable or 'repository'}-{digest}"


def scope_of(source: SourceSettings) -> str:
    """What a commit was read with: when it changes, the whole checkout is read again."""
    return json.dumps({"branch": source.branch, "paths": list(source.paths)})


class GitPoller:
    """Fetches and ingests the configured git sources. One poll at a time per instance."""

    def __init__(
        self,
        ingestor: Ingestor,
        sources: SourceStore,
        policy: GitPolicy,
        checkouts: Path,
        *,
        clock: Callable[[], datetime],
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.ingestor = ingestor
        self.sources = sources
        self.policy = policy
        self.checkouts = checkouts  # absolute
        self.clock = clock
        self.rand = rand
        self._lock = asyncio.Lock()
        self._due = DueTimes()

    def due(self, gits: Sequence[SourceSettings]) -> list[SourceSettings]:
        return self._due.due(gits, self.clock())

    def repository(self, source: SourceSettings) -> Repository:
        remote = Remote.of(source.url, source.display, source.secrets)
        return Repository(self.checkouts / checkout_name(source), remote, self.policy)

    async def poll(
        self,
        gits: Sequence[SourceSettings],
        *,
        due_only: bool = False,
        allow_withdrawals: bool = False,
    ) -> list[SourceReport]:
        """Fetch and ingest ``gits``; ``due_only``: only those whose next fetch has come (after a
        restart, as the database remembers it)."""
        async with self._lock:
            states = await self.sources.states([git.key for git in gits])
            reports: list[SourceReport] = []
            for git in gits:
                state = states[git.key]
                now = self.clock()
                if due_only and state.next_fetch_at is not None and state.next_fetch_at > now:
                    self._due.set(git.key, state.next_fetch_at)
                    continue
                report, record = await self._sync(git, state, allow_withdrawals)
                await self.sources.record_many([(state.id, record)])
                self._due.set(git.key, record.next_fetch_at)
                reports.append(report)
            return reports

    async def _sync(
        self, git: SourceSettings, state: SourceState, allow: bool
    ) -> tuple[SourceReport, FetchRecord]:
        now = self.clock()
        report = SourceReport(git.display, "git", "ok")
        scope = scope_of(git)
        commit: str | None = None
        try:
            commit, summary = await self._move(self.repository(git), git, state, scope, allow)
        except GitError as exc:
            report.outcome = "failed"
            report.error = exc.message
        else:
            if summary is None:
                report.outcome = "not_modified"
            else:
                report.new, report.updated = summary.new, summary.updated
                report.withdrawn = summary.withdrawn
                report.rejected = summary.rejected
                if summary.withdrawals_refused:
                    report.error = f"withdrew nothing: {summary.withdrawals_refused[0].reason}"
                    report.refused = summary.withdrawals_refused
                    commit = None  # not settled: the next poll weighs the same move again
        failed = report.outcome == "failed"
        report.failures = state.failures + 1 if failed else 0
        at = next_fetch(now, git.interval, failures=report.failures, jitter=self.rand() * 2 - 1)
        report.next_fetch_at = at
        record = FetchRecord(
            outcome=report.outcome,
            at=now,
            next_fetch_at=at,
            failures=report.failures,
            error=report.error,
            items_new=report.new,
            items_updated=report.updated,
            items_rejected=len(report.rejected),
            items_withdrawn=report.withdrawn,
            git_commit=commit,
            git_scope=scope if commit is not None else None,
        )
        return report, record

    async def _move(
        self,
        repo: Repository,
        git: SourceSettings,
        state: SourceState,
        scope: str,
        allow: bool,
    ) -> tuple[str, IngestSummary | None]:
        """Fetch, check out and ingest; the head reached and what ingesting it did (None:
        nothing changed since the commit last ingested)."""
        head, fresh = await repo.fetch(git.branch)
        same_scope = state.git_scope == scope
        if not fresh and same_scope and state.git_commit == head:
            return head, None
        since = state.git_commit if same_scope and not fresh else None
        try:
            return head, await self._ingest(repo, git, since, head, allow)
        except GitError as exc:
            if not exc.local:
                raise
            log.warning("%s: the checkout is broken (%s); cloning it again", git.display, exc)
            head = await repo.reclone(git.branch)
            return head, await self._ingest(repo, git, None, head, allow)

    async def _ingest(
        self, repo: Repository, git: SourceSettings, since: str | None, head: str, allow: bool
    ) -> IngestSummary:
        root = repo.directory
        if (
            since is not None
            and await repo.has_commit(since)
            and await repo.is_ancestor(since, head)
        ):
            changes = await repo.changes(since, head, git.paths)
            tree = TreeChange(
                root,
                git.display,
                [root / path for path in changes.changed],
                [root / path for path in changes.deleted],
            )
        else:
            if since is not None:
                log.info("%s: the branch was rewritten; reading the whole checkout", git.display)
            entries = await repo.files(head, git.paths)
            tree = TreeChange(root, git.display, [root / e.path for e in entries], None)
        await repo.checkout(head)
        summary = await self.ingestor.ingest_tree(tree, allow_withdrawals=allow)
        if not summary.withdrawals_refused:
            await repo.mark_ingested(head)
        return summary
