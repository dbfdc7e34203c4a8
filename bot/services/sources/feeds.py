"""Polling web feeds: fetch (politely and safely: bot.net.fetch), parse off the loop, store.

* Each feed is fetched when it is due: its interval, jittered; after failures an exponential
  backoff to 6 h that honours ``Retry-After`` (bot.domain.fetch_schedule). A feed that
  answered 410 Gone is disabled and never fetched again.
* Conditional GET with the validators of the last 200; a 200 whose body hashes the same as
  the last one parsed is "not modified" too, and costs no parse.
* Within one feed the guid is an item's identity: a guid seen before keeps the article it
  became (a changed link updates that article rather than making a second one) and its
  publishing date, fixed when first stored (a changed date alone is not an update).
* The same URL from several sources is one article whose fields come from the source with
  the highest priority: directory sources over feeds, then feeds in the config's order, then
  feeds added from Discord, oldest first (bot.services.sources.feed_list). A
  feed's rows never overwrite an article stored from a source above it, so alternating
  sources never cause edit storms (a directory ingest overwrites a feed's rows, as it
  should). An item that leaves a feed is not withdrawn: feeds show a window of their latest
  items, not an archive.
* The feed's ``files`` row lists the URLs it carries now, which keeps those articles from
  being withdrawn when a directory file that also had them goes away (a configured feed's
  only: a server's feed does not keep what every server sees, bot.store.withdrawals).
* A feed added from Discord is fetched with public addresses only (``fetch.allow_networks``
  never applies to it), and its articles are visible to its server only, unless a global
  source or another server's carries them too (bot.store.visibility).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.feeds import FeedDocument, FeedSourceFields, feed_articles
from bot.domain.fetch_schedule import next_fetch
from bot.domain.server_sources import SERVER_KEY_PREFIX
from bot.net.fetch import FetchResult, UrlFetcher, Validators
from bot.services.ingest.worker import FeedTask
from bot.services.sources.due import DueTimes
from bot.services.sources.feed_list import Feed, FeedList
from bot.services.sources.parsing import parsed_feeds
from bot.services.sources.reports import SourceReport
from bot.settings.sources import FEED_KEY_PREFIX
from bot.store.articles import ArticleStore, FileState
from bot.store.rows import article_rows
from bot.store.sources import FetchRecord, SourceState, SourceStore

log = logging.getLogger(__name__)

FETCHES_AT_ONCE = 32  # across hosts; the fetcher also keeps to 2 at a time per host
EXCERPT_CHARS = 1000  # the embed builder cuts further (publishing.excerpt_length)
STORE_FAILED = "its items could not be stored (a database error; the bot's log has it)"
PARSE_FAILED = "it could not be parsed (the parse workers failed; the bot's log has it)"


@dataclass(slots=True)
class _Fetched:
    feed: Feed
    state: SourceState
    result: FetchResult
    body_hash: str | None = None
    document: FeedDocument | None = None


def _rank_of(feeds: Sequence[Feed]) -> Callable[[str], int]:
    """A stored article's source path to its priority (lower wins): files first, then every
    feed in order (the whole list, not only those due now), then feeds no longer there."""
    order = {feed.key: n for n, feed in enumerate(feeds)}

    def rank(path: str) -> int:
        if not path.startswith((FEED_KEY_PREFIX, SERVER_KEY_PREFIX)):
            return -1
        return order.get(path, len(order))

    return rank


class FeedPoller:
    """Fetches and stores the feeds of ``feeds``. One poll at a time per instance."""

    def __init__(
        self,
        articles: ArticleStore,
        sources: SourceStore,
        fetcher: UrlFetcher,
        feeds: FeedList,
        *,
        workers: int = 0,
        clock: Callable[[], datetime],
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.articles = articles
        self.sources = sources
        self.fetcher = fetcher
        self.feed_list = feeds
        self.workers = workers
        self.clock = clock
        self.rand = rand
        self._lock = asyncio.Lock()
        self._due = DueTimes()

    async def due(self) -> list[Feed]:
        """The feeds to fetch now (all of those not seen yet by this poller)."""
        return self._due.due(await self.feed_list.feeds(), self.clock())

    async def poll(
        self, feeds: Sequence[Feed] | None = None, *, due_only: bool = False
    ) -> list[SourceReport]:
        """Fetch ``feeds`` (default: all of them); ``due_only``: only those whose next fetch
        has come (after a restart, as the database remembers it)."""
        async with self._lock:
            everyone = await self.feed_list.feeds()
            return await self._poll(everyone if feeds is None else list(feeds), everyone, due_only)

    async def _poll(
        self, feeds: list[Feed], everyone: list[Feed], due_only: bool
    ) -> list[SourceReport]:
        states = await self.sources.states([feed.key for feed in feeds])
        now = self.clock()
        reports: dict[str, SourceReport] = {}  # by feed key
        to_fetch: list[tuple[Feed, SourceState]] = []
        for feed in feeds:
            state = states.get(feed.key)
            if state is None:  # a server's feed, removed since the list was read
                self._due.forget(feed.key)
                continue
            if state.disabled_at is not None:
                self._due.set(feed.key, None)
                reports[feed.key] = _disabled(feed, state)
                continue
            if due_only and state.next_fetch_at is not None and state.next_fetch_at > now:
                self._due.set(feed.key, state.next_fetch_at)
                continue
            to_fetch.append((feed, state))
        limit = asyncio.Semaphore(FETCHES_AT_ONCE)

        async def fetch(feed: Feed, state: SourceState) -> _Fetched:
            async with limit:
                result = await self.fetcher.fetch(
                    feed.url,
                    Validators(state.etag, state.last_modified),
                    use_allow_networks=feed.trusted,
                )
            one = _Fetched(feed, state, result)
            if result.outcome == "ok":  # hashed one by one: a thousand at once stall the loop
                one.body_hash = hashlib.sha256(result.body).hexdigest()
            return one

        fetched = await asyncio.gather(*(fetch(feed, state) for feed, state in to_fetch))
        changed = [o for o in fetched if o.body_hash and o.body_hash != o.state.body_hash]
        tasks = [
            FeedTask(o.feed.key, o.result.url, o.result.body, o.result.content_type)
            for o in changed
        ]
        rank = _rank_of(everyone)
        records: list[tuple[int, FetchRecord]] = []

        async def settle(one: _Fetched, broken: str | None = None) -> None:
            try:
                report, record = await self._settle(one, rank(one.feed.key), rank, broken)
            except Exception:  # this feed's items could not be stored: the others go on
                log.exception("storing the items of %s failed", one.feed.display)
                report, record = await self._settle(one, rank(one.feed.key), rank, STORE_FAILED)
            reports[one.feed.key] = report
            records.append((one.state.id, record))
            self._due.set(one.feed.key, None if record.disabled else record.next_fetch_at)

        try:
            # First the feeds that need no parse (304, failures, an unchanged body): cheap, and
            # their backoff and next fetch are kept whatever happens to the parsing below.
            changed_keys = {one.feed.key for one in changed}
            for n, one in enumerate(o for o in fetched if o.feed.key not in changed_keys):
                await settle(one)
                if n % 20 == 19:
                    await asyncio.sleep(0)
            await self.sources.record_many(records)
            records.clear()
            # Each changed feed is stored as soon as it is parsed, while the workers parse the
            # next ones: the poll takes the longer of the two, not their sum, and only a window
            # of parsed documents is alive at a time (fewer objects for each garbage collection).
            parsed = parsed_feeds(tasks, workers=self.workers)
            del tasks
            async with contextlib.aclosing(parsed) as documents:
                for n, one in enumerate(changed):
                    try:
                        one.document = await anext(documents)
                    except Exception:  # the parse workers failed: none of the rest is parsed
                        log.exception("parsing %d feeds failed", len(changed) - n)
                        for rest in changed[n:]:
                            await settle(rest, PARSE_FAILED)
                        break
                    one.result = replace(one.result, body=b"")  # not kept longer than needed
                    await settle(one)
                    one.document = None
        finally:
            # What was fetched and stored is recorded even when the poll is cancelled (a
            # shutdown), so its validators and backoff are not forgotten.
            await asyncio.shield(self.sources.record_many(records))
        return [reports[feed.key] for feed in feeds if feed.key in reports]  # priority order

    async def _settle(
        self, one: _Fetched, my_rank: int, rank: Callable[[str], int], broken: str | None = None
    ) -> tuple[SourceReport, FetchRecord]:
        """The feed's report and fetch record; its items stored if it changed. ``broken``: why
        its body could not be parsed or stored (a failed fetch, its validators not kept)."""
        feed, state, result = one.feed, one.state, one.result
        now = self.clock()
        moved = result.permanent_url
        if moved is not None and not feed.url_shown:  # it may carry the expanded secret
            moved = "a new URL (not shown: the configured one holds ${...} references)"
        report = SourceReport(
            feed.display, "feed", "ok", result.status, moved_to=moved, guild_id=feed.guild_id
        )
        error = result.error or broken
        if result.outcome == "ok" and one.document is not None and one.document.error:
            error = one.document.error
        failed = result.outcome == "failed" or error is not None
        failures = state.failures + 1 if failed else 0
        report.failures = failures
        retry_after = result.retry_after
        if failed:
            report.outcome = "failed"
            report.error = error
            report.gone = result.gone
        elif result.outcome == "not_modified" or one.document is None:
            report.outcome = "not_modified"
        else:
            await self._store(feed, state, one.document, my_rank, rank, report)
        at = next_fetch(
            now,
            feed.interval,
            failures=failures,
            retry_after=retry_after,
            jitter=self.rand() * 2 - 1,
        )
        report.next_fetch_at = at
        validators = result.validators
        record = FetchRecord(
            outcome=report.outcome,
            at=now,
            next_fetch_at=at,
            failures=failures,
            http_status=result.status,
            error=report.error,
            etag=validators.etag,
            last_modified=validators.last_modified,
            body_hash=one.body_hash if report.outcome == "ok" else None,
            permanent_url=moved,
            items_new=report.new,
            items_updated=report.updated,
            items_rejected=len(report.rejected),
            disabled=result.gone,
        )
        if moved:
            where = "update the config" if feed.guild_id is None else "add the new URL instead"
            log.warning("%s moved permanently to %s: %s", feed.display, moved, where)
        return report, record

    async def _store(
        self,
        feed: Feed,
        state: SourceState,
        document: FeedDocument,
        my_rank: int,
        rank: Callable[[str], int],
        report: SourceReport,
    ) -> None:
        guids = list(dict.fromkeys(entry.guid for entry in document.entries))
        known = await self.sources.known_items(state.id, guids)
        mapped, rejected = feed_articles(
            document,
            FeedSourceFields(feed.topics, feed.quality, feed.provider),
            known=known,
            now=self.clock(),
            source=feed.display,
            excerpt_chars=EXCERPT_CHARS,
        )
        report.rejected.extend(rejected)
        first_seen = [
            (one.guid, one.article.url, one.article.published_at)
            for one in mapped
            if one.first_seen
        ]
        await self.sources.remember_items(state.id, first_seen)
        rows = [article_rows(one.article, feed.key) for one in mapped]
        urls = tuple(dict.fromkeys(r.url for r in rows))
        rejections = tuple(r.as_dict() for r in report.rejected)
        result = await self.articles.apply_batch(
            rows,
            [FileState(feed.key, 0, 0, 0, 0, urls, rejections)],
            hold=lambda path: rank(path) < my_rank,
            guild=feed.guild_id,
        )
        outcomes = list(result.outcomes.values())
        report.new = outcomes.count("new")
        report.updated = outcomes.count("updated")


def _disabled(feed: Feed, state: SourceState) -> SourceReport:
    report = SourceReport(
        feed.display, "feed", "disabled", state.http_status, guild_id=feed.guild_id
    )
    report.error = state.error or f"the feed is gone (HTTP 410); {report.fix()}"
    return report
