"""What Newsdesk remembers of each web feed and git source: the outcome of its last fetch, its
backoff; for a feed the validators and which article each of its items (by guid) became; for
a git source the last commit it ingested."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from bot.domain.server_sources import SERVER_KEY_PREFIX
from bot.store.sql import Db, in_json
from bot.store.times import db_time, optional_db_time, parse_db_time


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's row: what the next fetch needs, and what its status shows."""

    id: int
    key: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    permanent_url: str | None = None
    disabled_at: datetime | None = None
    last_fetch_at: datetime | None = None
    outcome: str | None = None
    http_status: int | None = None
    error: str | None = None
    items_new: int = 0
    items_updated: int = 0
    items_rejected: int = 0
    failures: int = 0
    next_fetch_at: datetime | None = None
    git_commit: str | None = None  # the last commit fully ingested
    git_scope: str | None = None  # the branch and paths it was read with
    items_withdrawn: int = 0


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """What one fetch of a source found (None: keep what is stored)."""

    outcome: str
    at: datetime
    next_fetch_at: datetime
    failures: int
    http_status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    permanent_url: str | None = None
    items_new: int = 0
    items_updated: int = 0
    items_rejected: int = 0
    disabled: bool = False
    git_commit: str | None = None
    git_scope: str | None = None
    items_withdrawn: int = 0


class KnownItem(NamedTuple):
    """A feed item seen before: the article it became, and its fixed publishing date."""

    url: str
    published_at: datetime


def source_state(row: Any) -> SourceState:
    return SourceState(
        id=row["id"],
        key=row["key"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        permanent_url=row["permanent_url"],
        disabled_at=optional_db_time(row["disabled_at"]),
        last_fetch_at=optional_db_time(row["last_fetch_at"]),
        outcome=row["outcome"],
        http_status=row["http_status"],
        error=row["error"],
        items_new=row["items_new"],
        items_updated=row["items_updated"],
        items_rejected=row["items_rejected"],
        failures=row["failures"],
        next_fetch_at=optional_db_time(row["next_fetch_at"]),
        git_commit=row["git_commit"],
        git_scope=row["git_scope"],
        items_withdrawn=row["items_withdrawn"],
    )


_RECORD = (
    "UPDATE sources SET last_fetch_at = ?, outcome = ?, http_status = ?, error = ?, "
    "failures = ?, next_fetch_at = ?, "
    "etag = CASE WHEN ? THEN ? ELSE etag END, "
    "last_modified = CASE WHEN ? THEN ? ELSE last_modified END, "
    "body_hash = coalesce(?, body_hash), "
    "permanent_url = coalesce(?, permanent_url), "
    "items_new = ?, items_updated = ?, items_rejected = ?, items_withdrawn = ?, "
    "disabled_at = CASE WHEN ? THEN ? ELSE disabled_at END, "
    "git_commit = coalesce(?, git_commit), git_scope = coalesce(?, git_scope) "
    "WHERE id = ?"
)


def _record_params(source_id: int, fetch: FetchRecord) -> tuple[Any, ...]:
    replaced = fetch.outcome in ("ok", "not_modified") and fetch.http_status == 200
    return (
        db_time(fetch.at),
        fetch.outcome,
        fetch.http_status,
        fetch.error,
        fetch.failures,
        db_time(fetch.next_fetch_at),
        replaced,
        fetch.etag,
        replaced,
        fetch.last_modified,
        fetch.body_hash,
        fetch.permanent_url,
        fetch.items_new,
        fetch.items_updated,
        fetch.items_rejected,
        fetch.items_withdrawn,
        fetch.disabled,
        db_time(fetch.at),
        fetch.git_commit,
        fetch.git_scope,
        source_id,
    )


class SourceStore:
    def __init__(self, db: Db) -> None:
        self.db = db
        self._in_texts = in_json(db.dialect, "text")

    async def states(self, keys: Sequence[str]) -> dict[str, SourceState]:
        """The rows of ``keys``, created (empty) for the configured sources seen for the first
        time. A server's source has its row from when it was added: one that was removed since
        is left out, not created again."""
        if not keys:
            return {}
        configured = [key for key in keys if not key.startswith(SERVER_KEY_PREFIX)]
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO sources (key, kind) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                [(key, key.partition(":")[0]) for key in configured],
            )
            rows = await tx.fetch(
                f"SELECT * FROM sources WHERE key {self._in_texts}",  # noqa: S608
                (json.dumps(list(keys)),),
            )
        return {row["key"]: source_state(row) for row in rows}

    async def all(self) -> list[SourceState]:
        rows = await self.db.fetch("SELECT * FROM sources ORDER BY id")
        return [source_state(row) for row in rows]

    async def record_many(self, fetches: Sequence[tuple[int, FetchRecord]]) -> None:
        """Store the outcomes of fetches (source id, record) in one transaction; validators
        are replaced by a 200's (even when it has none), kept otherwise."""
        if not fetches:
            return
        async with self.db.transaction() as tx:
            await tx.executemany(_RECORD, [_record_params(i, f) for i, f in fetches])

    async def known_items(self, source_id: int, guids: Sequence[str]) -> dict[str, KnownItem]:
        rows = await self.db.fetch(
            "SELECT guid, url, published_at FROM feed_items WHERE source_id = ? "  # noqa: S608
            f"AND guid {self._in_texts}",
            (source_id, json.dumps(list(guids))),
        )
        return {row[0]: KnownItem(row[1], parse_db_time(row[2])) for row in rows}

    async def remember_items(
        self, source_id: int, items: Sequence[tuple[str, str, datetime]]
    ) -> None:
        """(guid, article URL, publishing date) of items seen for the first time; an item
        already remembered keeps its article and date."""
        if not items:
            return
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO feed_items (source_id, guid, url, published_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source_id, guid) DO NOTHING",
                [(source_id, guid, url, db_time(at)) for guid, url, at in items],
            )
