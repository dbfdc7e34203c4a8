"""ArticleStore: ingest into the archive (articles, topics, related coverage, source-file cache).

Reads are in bot.store.article_reads.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from bot.store.article_reads import ArticleReads
from bot.store.edits import FLAG_SQL
from bot.store.published import apply_published_policy, postable
from bot.store.rows import (
    SOURCE_PUBLISHED,
    ArticleRows,
)
from bot.store.sql import Db, Tx
from bot.store.times import db_time, utcnow
from bot.store.visibility import share, share_each, widen

Outcome = Literal["new", "updated", "unchanged"]

# SQLite allows 32766 host parameters; stay far below for IN (...) lists.
_IN_CHUNK = 500

# Column lists follow bot.store.rows.ARTICLE_COLUMNS (a test checks they agree).
_INSERT_ARTICLE = """
INSERT INTO articles (
    id, url, web_url, original_url, title, excerpt, published_at, type, quality, heat,
    source_published, provider_name, provider_domain, provider_key, domain_key, provider_json,
    images_json, featured_content, body, extra_json, topics_text,
    content_hash, source_path, ingested_at, updated_at, postable, shown_hash, withdrawn_at,
    restricted, scope
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""  # scope: 'r' (no server yet) for a restricted one, until store.visibility.share
_UPDATE_ARTICLE = """
UPDATE articles SET
    url = ?, web_url = ?, original_url = ?, title = ?, excerpt = ?, published_at = ?, type = ?,
    quality = ?, heat = ?, source_published = ?, provider_name = ?, provider_domain = ?,
    provider_key = ?, domain_key = ?, provider_json = ?, images_json = ?, featured_content = ?,
    body = ?, extra_json = ?, topics_text = ?, content_hash = ?, source_path = ?, updated_at = ?,
    postable = ?, shown_hash = ?, withdrawn_at = ?
WHERE id = ?
"""
_INSERT_TOPIC_LINK = """
INSERT INTO article_topics (
    article_id, topic_id, position, label, quality, published_at, postable, restricted
) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_RELATED = (
    "INSERT INTO related (article_id, position, url, title, provider_name, published_at, "
    "quality, data_json, linked_article_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT id FROM articles WHERE url = ?))"
)
_UPSERT_FILE = (
    "INSERT INTO source_files (path, size, mtime_ns, inode, ctime_ns, urls, rejections_json, "
    "scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
    "inode = excluded.inode, ctime_ns = excluded.ctime_ns, urls = excluded.urls, "
    "rejections_json = excluded.rejections_json, scanned_at = excluded.scanned_at"
)


@dataclass(frozen=True, slots=True)
class BatchResult:
    outcomes: dict[str, Outcome]  # per URL
    held: list[tuple[str, ArticleRows]]  # (the file the stored version came from, rows)
    reshown: list[int] = field(default_factory=list)  # ids whose posts were queued for edits


@dataclass(frozen=True, slots=True)
class FileState:
    """What a source file looked like when it was last read."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int
    urls: tuple[str, ...] = ()
    rejections: tuple[dict[str, Any], ...] = ()


class StoredFile(NamedTuple):
    """A source file as remembered: its stat, the URLs it carried, why it was rejected."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int
    urls_text: str  # one canonical URL per line
    rejections_json: str | None

    def urls(self) -> list[str]:
        return self.urls_text.split("\n") if self.urls_text else []

    def rejections(self) -> list[dict[str, Any]]:
        return list(json.loads(self.rejections_json)) if self.rejections_json else []


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ArticleStore(ArticleReads):
    """The archive's writes (ingest), and its reads (ArticleReads)."""

    def __init__(self, db: Db, *, trust_published_flag: bool = True) -> None:
        super().__init__(db)
        self.trust_published_flag = trust_published_flag
        self._topic_ids: dict[str, int] = {}

    def _postable_row(self, rows: ArticleRows) -> int:
        return postable(
            self.trust_published_flag,
            rows.values[SOURCE_PUBLISHED],
            withdrawn=rows.withdrawn_at is not None,
        )

    async def apply_published_policy(self) -> int:
        """Recompute ``postable`` if ``trust_published_flag`` changed (see store.published)."""
        return await apply_published_policy(self.db, self.trust_published_flag)

    # ------------------------------------------------------------------ ingest

    async def apply_batch(
        self,
        batch: Sequence[ArticleRows],
        files: Sequence[FileState] = (),
        *,
        hold: Callable[[str], bool] | None = None,
        guild: int | None = None,
    ) -> BatchResult:
        """Store a batch of parsed articles and the state of the files they came from.

        One transaction: either the whole batch (articles, topics, related, file states) is
        stored or none of it. Within the batch the last article of a URL wins (who may see it:
        every row's say). Unchanged
        articles (same content hash) are not written at all. ``hold(path)``: an article whose
        stored version came from another file ``path`` for which it answers True is not
        written either, but handed back in ``held`` (the caller knows that file comes later).
        The posts of an updated article whose shown digest changed are queued for edits
        (store.edits), in the same transaction.

        ``guild``: the batch comes from a source that server added from Discord; the articles
        only such sources carry are visible to the servers whose sources carry them
        (store.visibility). None: a global source; every article of the batch is global from
        now on (visibility only widens; held and unchanged articles too), except those whose
        rows carry ``servers`` (an export's record): those servers may see them, as if their
        own feeds carried them. A server's batch never writes an article that is already
        global: its outcome is "unchanged".
        """
        latest: dict[str, ArticleRows] = {}
        for rows in batch:
            earlier = latest.pop(rows.url, None)
            if earlier is not None and earlier.servers != rows.servers:
                # who may see it is every row's say: global if one is, else all their servers
                merged = (
                    None
                    if earlier.servers is None or rows.servers is None
                    else tuple(sorted({*earlier.servers, *rows.servers}))
                )
                rows = rows._replace(servers=merged)
            latest[rows.url] = rows
        result = BatchResult({}, [])
        outcomes = result.outcomes
        new_topic_ids: dict[str, int] = {}
        now = db_time(utcnow())
        async with self.db.transaction() as tx:
            existing: dict[str, tuple[int, str, str | None, str | None, bool]] = {}
            restricted: set[int] = set()  # stored articles only server sources carried
            theirs: dict[int, tuple[int, ...]] = {}  # an export's: only these servers' feeds
            urls = list(latest)
            for chunk in _chunks(urls):
                found = await tx.fetch(
                    "SELECT id, url, content_hash, source_path, shown_hash, "
                    "withdrawn_at IS NOT NULL, restricted FROM articles "
                    "WHERE url IN (SELECT value FROM json_each(?))",
                    (json.dumps(chunk),),
                )
                for row in found:
                    existing[row[1]] = (row[0], row[2], row[3], row[4], bool(row[5]))
                    if row[6]:
                        restricted.add(row[0])
            inserts: list[tuple[int, ArticleRows]] = []
            updates: list[tuple[int, ArticleRows]] = []
            reshown: list[int] = []  # updated articles whose posts now show something else
            uncounted: list[int] = []  # updated articles that were withdrawn: links not counted
            next_id = 0
            if len(existing) < len(latest):
                top = await tx.fetch("SELECT coalesce(max(id), 0) FROM articles")
                next_id = int(next(iter(top))[0]) + 1
            for url, rows in list(latest.items()):
                stored = existing.get(url)
                # withdrawn or restored (a file that came back; an export's withdrawnDateTime)
                flipped = stored is not None and stored[4] != (rows.withdrawn_at is not None)
                if guild is None and rows.servers is not None:
                    if stored is None:
                        theirs[next_id] = rows.servers
                    elif stored[0] in restricted:
                        theirs[stored[0]] = rows.servers
                if stored is None:
                    inserts.append((next_id, rows))
                    outcomes[url] = "new"
                    next_id += 1
                elif guild is not None and stored[0] not in restricted:
                    # A global article: what every server sees is the global sources' to
                    # change (or restore), never one server's own feed.
                    outcomes[url] = "unchanged"
                elif (
                    hold is not None
                    and stored[2] is not None
                    and stored[2] != rows.source_path
                    and hold(stored[2])
                ):
                    result.held.append((stored[2], rows))
                    del latest[url]
                elif stored[1] != rows.content_hash or flipped:
                    updates.append((stored[0], rows))
                    outcomes[url] = "updated"
                    if stored[4] or stored[0] in restricted:
                        uncounted.append(stored[0])
                    if flipped or (stored[3] is not None and stored[3] != rows.shown_hash):
                        reshown.append(stored[0])  # a restored article's posts, too
                else:
                    outcomes[url] = "unchanged"
            counts: Counter[int] = Counter()
            if updates:
                await tx.executemany(
                    _UPDATE_ARTICLE,
                    [
                        (
                            *r.values,
                            r.content_hash,
                            r.source_path,
                            now,
                            self._postable_row(r),
                            r.shown_hash,
                            r.withdrawn_at,
                            i,
                        )
                        for i, r in updates
                    ],
                )
                skip = set(uncounted)
                for chunk in _chunks([i for i, _ in updates if i not in skip]):
                    for row in await tx.fetch(
                        "SELECT topic_id, count(*) FROM article_topics "
                        "WHERE article_id IN (SELECT value FROM json_each(?)) GROUP BY topic_id",
                        (json.dumps(chunk),),
                    ):
                        counts[row[0]] -= row[1]
                ids = [(i,) for i, _ in updates]
                await tx.executemany("DELETE FROM article_topics WHERE article_id = ?", ids)
                await tx.executemany("DELETE FROM related WHERE article_id = ?", ids)
            if inserts:
                await tx.executemany(
                    _INSERT_ARTICLE,
                    [
                        (
                            i,
                            *r.values,
                            r.content_hash,
                            r.source_path,
                            now,
                            now,
                            self._postable_row(r),
                            r.shown_hash,
                            r.withdrawn_at,
                            int(guild is not None or i in theirs),
                            "r" if guild is not None or i in theirs else "",
                        )
                        for i, r in inserts
                    ],
                )
            written = inserts + updates
            # Hidden from other servers: a server source's new articles, and its updates of
            # articles no global source carries (or an export's record of such articles).
            hidden = {i for i, _ in inserts} | restricted if guild is not None else set(theirs)
            if written:
                topic_ids = await self._ensure_topics(tx, written, new_topic_ids)
                links = [
                    (
                        i,
                        topic_ids[key],
                        pos,
                        label,
                        r.quality,
                        r.published_at,
                        self._postable_row(r),
                        int(i in hidden),
                    )
                    for i, r in written
                    for pos, (key, label) in enumerate(r.topics)
                ]
                await tx.executemany(_INSERT_TOPIC_LINK, links)
                counted = {i for i, r in written if r.withdrawn_at is None and i not in hidden}
                counts.update(link[1] for link in links if link[0] in counted)
                await tx.executemany(
                    _INSERT_RELATED, [(i, *rel, rel[1]) for i, r in written for rel in r.related]
                )
            if guild is None:
                updated = {i for i, _ in updates}
                counts.update(await widen(tx, restricted - theirs.keys(), updated))
                await share_each(tx, theirs)
            else:
                await share(tx, hidden, guild)
            for chunk in _chunks(reshown):
                await tx.execute(FLAG_SQL, (json.dumps(chunk),))
            result.reshown.extend(reshown)
            if any(counts.values()):
                await tx.executemany(
                    "UPDATE topics SET article_count = article_count + ? WHERE id = ?",
                    [(delta, topic_id) for topic_id, delta in counts.items() if delta],
                )
            if files:
                await tx.executemany(
                    _UPSERT_FILE,
                    [
                        (
                            f.path,
                            f.size,
                            f.mtime_ns,
                            f.inode,
                            f.ctime_ns,
                            "\n".join(f.urls),
                            json.dumps(list(f.rejections)) if f.rejections else None,
                            now,
                        )
                        for f in files
                    ],
                )
        self._topic_ids.update(new_topic_ids)  # only once committed
        return result

    async def _ensure_topics(
        self,
        tx: Tx,
        written: Sequence[tuple[int, ArticleRows]],
        new_topic_ids: dict[str, int],
    ) -> dict[str, int]:
        wanted: dict[str, str] = {}
        for _, rows in written:
            for key, label in rows.topics:
                wanted.setdefault(key, label)
        ids = {k: self._topic_ids[k] for k in wanted if k in self._topic_ids}
        missing = [k for k in wanted if k not in ids]
        if missing:
            await tx.executemany(
                "INSERT INTO topics (key, name) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                [(k, wanted[k]) for k in missing],
            )
            for chunk in _chunks(missing):
                for row in await tx.fetch(
                    "SELECT key, id FROM topics WHERE key IN (SELECT value FROM json_each(?))",
                    (json.dumps(chunk),),
                ):
                    ids[row[0]] = row[1]
                    new_topic_ids[row[0]] = row[1]
        return ids

    async def file_states(self, paths: Sequence[str]) -> dict[str, StoredFile]:
        """What the store remembers about these source files (absent: never seen)."""
        rows = await self.db.fetch(
            "SELECT path, size, mtime_ns, inode, ctime_ns, urls, rejections_json "
            "FROM source_files WHERE path IN (SELECT value FROM json_each(?))",
            (json.dumps(list(paths)),),
        )
        return {r[0]: StoredFile(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}

    async def analyze(self) -> None:
        """Refresh the planner's statistics (after a bulk load)."""
        async with self.db.transaction() as tx:
            await tx.execute("PRAGMA analysis_limit = 1000")
            await tx.execute("ANALYZE")
