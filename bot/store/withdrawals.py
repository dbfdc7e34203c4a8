"""Withdrawals: the remembered files of a source directory, and articles that left it.

A source directory's files are the ``source_files`` rows whose path starts with the
directory's absolute path and a separator: a range of the primary key, never a scan. Whether a
withdrawal may happen is decided by bot.domain.withdrawals; this module only reads and writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Sequence

from bot.domain.server_sources import SERVER_KEY_PREFIX
from bot.store.edits import FLAG_SQL
from bot.store.published import postable
from bot.store.sql import Db
from bot.store.times import db_time, utcnow

_IN_CHUNK = 500
_FEW_URLS = 50  # up to this many, files are searched per URL; past it, all are read once
_WITHDRAWN_POSTABLE = postable(True, False, withdrawn=True)


def key_range(root_key: str) -> tuple[str, str]:
    """The [low, high) range of the paths under a directory (as stored: absolute)."""
    base = root_key.rstrip(os.sep)
    return base + os.sep, base + chr(ord(os.sep) + 1)


def outside(root_keys: Iterable[str]) -> list[tuple[str, str | None]]:
    """The ranges of paths under none of these directories ([low, high), None: no end)."""
    ranges = sorted(key_range(k) for k in root_keys)
    gaps: list[tuple[str, str | None]] = []
    low = ""
    for start, end in ranges:
        if start > low:
            gaps.append((low, start))
        low = max(low, end)
    gaps.append((low, None))
    return gaps


def _chunks(items: Sequence[str | int]) -> Iterable[Sequence[str | int]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _lines(text: str) -> list[str]:
    return text.split("\n") if text else []


class WithdrawalStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def file_count(self, root_key: str) -> int:
        """How many files the store remembers under the directory (78 ms for 1,000,000)."""
        low, high = key_range(root_key)
        value = await self.db.fetch_value(
            "SELECT count(*) FROM source_files WHERE path >= ? AND path < ?", (low, high)
        )
        return int(value)

    async def files_under(self, root_key: str) -> list[tuple[str, list[str]]]:
        """Every remembered file under the directory, with the URLs it carried."""
        low, high = key_range(root_key)
        rows = await self.db.fetch(
            "SELECT path, urls FROM source_files WHERE path >= ? AND path < ?", (low, high)
        )
        return [(r[0], _lines(r[1])) for r in rows]

    async def files_at(self, paths: Sequence[str]) -> dict[str, list[str]]:
        """The remembered files among ``paths``, with the URLs each carried."""
        out: dict[str, list[str]] = {}
        for chunk in _chunks(paths):
            rows = await self.db.fetch(
                "SELECT path, urls FROM source_files "
                "WHERE path IN (SELECT value FROM json_each(?))",
                (json.dumps(list(chunk)),),
            )
            out.update((r[0], _lines(r[1])) for r in rows)
        return out

    async def url_count(self, root_key: str) -> int:
        """How many URLs the remembered files under the directory carry."""
        low, high = key_range(root_key)
        value = await self.db.fetch_value(
            "SELECT total(length(urls) - length(replace(urls, char(10), '')) + (urls != '')) "
            "FROM source_files WHERE path >= ? AND path < ?",
            (low, high),
        )
        return int(value)

    async def carried_elsewhere(self, urls: Collection[str], excluded: Collection[str]) -> set[str]:
        """Which of ``urls`` a remembered file other than those ``excluded`` carries."""
        found: set[str] = set()
        if not urls:
            return found
        if len(urls) <= _FEW_URLS:  # the files that may carry them, found by SQLite
            rows = await self.db.fetch(
                "SELECT path, urls FROM source_files WHERE EXISTS (SELECT 1 FROM json_each(?) j "
                "WHERE instr(source_files.urls, j.value) > 0)",
                (json.dumps(sorted(urls)),),
            )
        else:
            rows = await self.db.fetch("SELECT path, urls FROM source_files")
        for path, text in rows:
            if path not in excluded:
                found.update(url for url in _lines(text) if url in urls)
        return found

    async def carried_outside(self, urls: Collection[str], root_keys: Iterable[str]) -> set[str]:
        """Which of ``urls`` a remembered file under none of these directories carries (a
        file once ingested by its path, or another configured source). A server's own feed
        does not count: what every server sees is the global sources' to keep or withdraw."""
        found: set[str] = set()
        if not urls:
            return found
        for low, high in outside(root_keys):
            if high is None:
                rows = await self.db.fetch(
                    "SELECT path, urls FROM source_files WHERE path >= ?", (low,)
                )
            else:
                rows = await self.db.fetch(
                    "SELECT path, urls FROM source_files WHERE path >= ? AND path < ?",
                    (low, high),
                )
            for path, carried in rows:
                if not path.startswith(SERVER_KEY_PREFIX):
                    found.update(url for url in _lines(carried) if url in urls)
        return found

    async def live(self, urls: Sequence[str]) -> dict[str, int]:
        """The stored, not withdrawn articles among ``urls``: url -> id."""
        out: dict[str, int] = {}
        for chunk in _chunks(urls):
            rows = await self.db.fetch(
                "SELECT url, id FROM articles WHERE url IN (SELECT value FROM json_each(?)) "
                "AND withdrawn_at IS NULL",
                (json.dumps(list(chunk)),),
            )
            out.update((r[0], r[1]) for r in rows)
        return out

    async def withdraw(self, ids: Sequence[int], gone_files: Sequence[str]) -> None:
        """One transaction: the articles are withdrawn (not postable, their topic links not
        counted, their posts queued for the on_removed action) and the gone files forgotten
        (so that a file that comes back is read again, and restores its article)."""
        now = db_time(utcnow())
        async with self.db.transaction() as tx:
            for chunk in _chunks(ids):
                # Only those still live now (another scan may have withdrawn some meanwhile):
                # their global topic links are uncounted once (restricted ones never counted).
                live = await tx.fetch(
                    "UPDATE articles SET withdrawn_at = ?, postable = ? "
                    "WHERE id IN (SELECT value FROM json_each(?)) AND withdrawn_at IS NULL "
                    "RETURNING id",
                    (now, _WITHDRAWN_POSTABLE, json.dumps(list(chunk))),
                )
                group = json.dumps([row[0] for row in live])
                await tx.execute(
                    "UPDATE topics SET article_count = article_count - (SELECT count(*) "
                    "FROM article_topics t WHERE t.topic_id = topics.id AND t.restricted = 0 "
                    "AND t.article_id IN (SELECT value FROM json_each(?1))) "
                    "WHERE id IN (SELECT topic_id FROM article_topics "
                    "WHERE article_id IN (SELECT value FROM json_each(?1)))",
                    (group,),
                )
                await tx.execute(
                    "UPDATE article_topics SET postable = ? "
                    "WHERE article_id IN (SELECT value FROM json_each(?))",
                    (_WITHDRAWN_POSTABLE, group),
                )
                await tx.execute(FLAG_SQL, (group,))
            for chunk in _chunks(gone_files):
                await tx.execute(
                    "DELETE FROM source_files WHERE path IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(chunk)),),
                )
