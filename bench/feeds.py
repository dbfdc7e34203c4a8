"""Benchmark: polling 1,000 web feeds, the first time (all new) and again (mostly 304).

    .venv/bin/python bench/feeds.py [--feeds 1000] [--items 50] [--changed 0.2] [--repeat 3]
    .venv/bin/python bench/feeds.py --latency 0.1 --order interleaved   # slower answers
    .venv/bin/python bench/feeds.py --baseline ../other-checkout [--rounds 3]   # side by side

The feeds are RSS 2.0 documents of ``--items`` items each (titles, HTML descriptions, links,
guids, pubDates, categories, some images), gzip-encoded, with an ETag and a Last-Modified, served
by an aiohttp server in a separate process (``--serve``), so that serving costs neither the
bot's CPU nor its event loop. They are spread over 100 loopback hosts (127.0.0.1-127.0.0.100),
so the fetcher's limit of 2 requests at a time per host is not all that is measured; a host's
10 feeds come one after another in the config (``--order grouped``, as a site's sections are
listed together) or round robin (``interleaved``). ``--latency`` delays every feed answer, as
a real network would (0 by default: loopback answers in about a millisecond).

Each round uses the real code: a new SQLite store in a temporary directory (Database.open), the
stores, fetch policy and FeedPoller of bot.wiring, the real Fetcher. Then:

* first poll: every feed answers 200 with its items, all new;
* second poll: ``--changed`` of the feeds (20%) have three new items, one corrected title and a
  new ETag; the others answer 304 Not Modified.

Each poll gets a fresh Fetcher (new connections, as after a 15-minute interval). Printed per
poll, medians of ``--repeat`` rounds: wall time; CPU time of the bot's side, that is this
process (all its threads: the loop, aiosqlite's) plus its parse worker processes (the pool
reaps them before the poll returns, so ``RUSAGE_CHILDREN`` counts them exactly; the feed server
is reaped only at the end); the event loop's worst stall (a task sleeps 5 ms in a loop and
records how late it wakes); and where the time went. The server's own CPU is shown apart.
Targets: the second poll under 10 s on 2 cores, no stall over 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import gzip
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ab import alternate, code_root, raw, side_by_side  # noqa: E402

sys.path.insert(0, str(code_root()))  # the code measured: this checkout, or --root DIR

from stats import percentile  # noqa: E402

from bot.net.fetch import Fetcher, FetchPolicy, FetchResult, Validators  # noqa: E402
from bot.services.sources.feed_list import configured_feed  # noqa: E402
from bot.services.sources.feeds import FETCHES_AT_ONCE  # noqa: E402
from bot.services.sources.reports import SourceReport  # noqa: E402
from bot.settings import Settings, settings_from_mapping  # noqa: E402
from bot.store.articles import ArticleStore, BatchResult  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.sources import FetchRecord, KnownItem, SourceStore  # noqa: E402
from bot.wiring import feed_poller, fetch_policy, stores_of  # noqa: E402

HOSTS = 100  # loopback addresses 127.0.0.1 ... 127.0.0.100
NEW_ITEMS = 3  # per changed feed in the second poll (and one corrected title)
TICK = 0.005  # the stall probe's sleep
STALL_TARGET = 0.050
SECOND_POLL_TARGET = 10.0
SEED = 1
NO_VALIDATORS = Validators()

# ------------------------------------------------------------------------- the feeds' content


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WORDS = _words(
    "government council budget vote election minister court ruling report study researchers "
    "scientists climate energy solar wind grid market shares investors bank rates inflation "
    "jobs workers strike union city transport rail airport flights storm flood heat drought "
    "water health hospital doctors patients vaccine school students teachers university "
    "software startup chip data privacy security breach hackers cloud model launch satellite "
    "space mission telescope ocean forest wildlife species museum festival film music album "
    "league club coach season final match record injury transfer deal talks summit border "
    "trade tariffs exports farmers prices housing rent mortgage plan review inquiry police "
    "village region province capital coast river bridge road project funding tax reform"
)
_VERBS = _words(
    "announces approves rejects delays expands cuts warns reveals launches plans faces wins "
    "loses backs blocks opens closes signs raises lowers confirms denies tests unveils"
)
_TOPICS = _words(
    "Politics Business Technology Science Health Climate Sport Culture World Local Economy "
    "Education Travel Energy Space Security Transport Housing Agriculture Media"
)
_BASE = datetime(2026, 12, 1, 18, tzinfo=UTC)


def host_of(n: int, feeds: int, hosts: int, order: str) -> int:
    """Feed ``n``'s host number (1-based). ``grouped``: a host's feeds come one after another
    in the config (as a site's sections are listed together); ``interleaved``: round robin."""
    hosts = max(1, min(hosts, feeds))
    if order == "interleaved":
        return n % hosts + 1
    return n * hosts // feeds + 1


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words)


def _item(n: int, k: int, span: int, site: str, retitled: bool) -> str:
    """Item ``k`` of feed ``n`` (k grows with time: a larger k is a newer item; ``span``: the
    newest k of the second poll, which is about an hour before the base time)."""
    rng = random.Random(f"{n}/{k}")
    subject = _sentence(rng, 2, 4).capitalize()
    title = f"{subject} {rng.choice(_VERBS)} {_sentence(rng, 3, 7)}"
    if retitled:
        title = f"Correction: {title}, officials say"
    when = _BASE - timedelta(minutes=47 * (span - k) + rng.randint(0, 40))
    slug = "-".join(title.lower().replace(",", "").replace(":", "").split()[:8])
    link = f"https://www.{site}/{when:%Y/%m/%d}/{slug}-{n}-{k}"
    paragraphs = "".join(
        f"<p>{escape(_sentence(rng, 20, 45)).capitalize()}. "
        f"<a href='https://www.{site}/topics/{rng.choice(_WORDS)}'>{rng.choice(_WORDS)}</a> "
        f"{escape(_sentence(rng, 8, 20))}.</p>"
        for _ in range(rng.randint(1, 2))
    )
    if rng.random() < 0.3:
        paragraphs = f"<img src='https://cdn.{site}/img/{n}-{k}.jpg' width='640'>" + paragraphs
    categories = "".join(
        f"<category>{topic}</category>" for topic in rng.sample(_TOPICS, rng.randint(1, 3))
    )
    if k % 2:
        guid = f"<guid isPermaLink='true'>{escape(link)}</guid>"
    else:
        guid = f"<guid isPermaLink='false'>{site}:{n}:{k}</guid>"
    enclosure = ""
    if rng.random() < 0.2:
        enclosure = (
            f"<enclosure url='https://cdn.{site}/img/{n}-{k}-large.jpg' length='91234' "
            "type='image/jpeg'/>"
        )
    return (
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>{guid}"
        f"<pubDate>{email.utils.format_datetime(when)}</pubDate>"
        f"<dc:creator>{escape(_sentence(rng, 2, 2).title())}</dc:creator>{categories}"
        f"<description>{escape(paragraphs)}</description>{enclosure}</item>"
    )


def feed_document(n: int, items: int, host: int, changed: bool) -> tuple[bytes, datetime]:
    """Feed ``n``'s RSS 2.0 body; ``changed``: as in the second poll (new items, a new title)."""
    site = f"site{host}.example.com"
    newest = items + (NEW_ITEMS if changed else 0)
    ks = range(newest - 1, newest - 1 - items, -1)  # newest first, a window of ``items``
    retitle = newest - 1 - NEW_ITEMS - 5 if changed else -1  # an item seen in the first poll
    built = _BASE + (timedelta(hours=2) if changed else timedelta())
    span = items + NEW_ITEMS
    body = "".join(_item(n, k, span, site, k == retitle) for k in ks)
    text = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'><channel>"
        f"<title>Site {host} news, section {n}</title><link>https://www.{site}/section/{n}</link>"
        f"<description>The latest from section {n} of site {host}</description>"
        f"<language>en</language><ttl>15</ttl>"
        f"<lastBuildDate>{email.utils.format_datetime(built)}</lastBuildDate>"
        f"{body}</channel></rss>"
    )
    return text.encode(), built


# --------------------------------------------------------------- the feed server (--serve)


@dataclass(slots=True)
class _Served:
    plain: bytes
    packed: bytes
    etag: str
    last_modified: str


def _served(body: bytes, etag: str, built: datetime) -> _Served:
    packed = gzip.compress(body, compresslevel=6, mtime=0)
    return _Served(body, packed, etag, email.utils.format_datetime(built, usegmt=True))


async def serve(
    feeds: int, items: int, changed: float, hosts: int, order: str, latency: float
) -> None:
    """Serve /feed/<n>.xml on 127.0.0.1..127.0.0.<hosts>; ``POST /_bench/generation/<g>``
    switches between the first poll's documents (0) and the second's (1); ``GET /_bench/stats``
    gives the server's CPU time and answers so far; every feed answer waits ``latency`` seconds
    (a network's round trips). Ends when stdin ends."""
    chosen = set(random.Random(SEED).sample(range(feeds), round(changed * feeds)))
    first: list[_Served] = []
    second: list[_Served] = []
    for n in range(feeds):
        host = host_of(n, feeds, hosts, order)
        body, built = feed_document(n, items, host, changed=False)
        first.append(_served(body, f'"{n}-0"', built))
        if n in chosen:
            body, built = feed_document(n, items, host, changed=True)
            second.append(_served(body, f'"{n}-1"', built))
        else:
            second.append(first[-1])
    generations = (first, second)
    now = [first]
    answers: Counter[str] = Counter()

    async def feed(request: web.Request) -> web.StreamResponse:
        if latency:
            await asyncio.sleep(latency)
        try:
            one = now[0][int(request.match_info["n"])]
        except (ValueError, IndexError):
            answers["404"] += 1
            return web.Response(status=404)
        headers = {"ETag": one.etag, "Last-Modified": one.last_modified, "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == one.etag:
            answers["304"] += 1
            return web.Response(status=304, headers=headers)
        answers["200"] += 1
        headers["Content-Type"] = "application/rss+xml; charset=utf-8"
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=one.packed, headers=headers)
        return web.Response(body=one.plain, headers=headers)

    async def generation(request: web.Request) -> web.StreamResponse:
        now[0] = generations[int(request.match_info["g"])]
        return web.json_response({"generation": int(request.match_info["g"])})

    async def stats(request: web.Request) -> web.StreamResponse:
        return web.json_response({"cpu": time.process_time(), "answers": dict(answers)})

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", feed)
    app.router.add_post("/_bench/generation/{g}", generation)
    app.router.add_get("/_bench/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    first_site = web.TCPSite(runner, "127.0.0.1", 0)
    await first_site.start()
    port = first_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    for host in range(2, max(1, min(hosts, feeds)) + 1):
        await web.TCPSite(runner, f"127.0.0.{host}", port).start()
    sizes = [len(s.plain) for s in first]
    packed = [len(s.packed) for s in first]
    print(
        json.dumps(
            {
                "port": port,
                "bytes": statistics.mean(sizes),
                "gzip_bytes": statistics.mean(packed),
                "changed": len(chosen),
            }
        ),
        flush=True,
    )
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at the end of stdin: the benchmark ended or died
        loop.call_soon_threadsafe(ended.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        await ended.wait()
    finally:
        await runner.cleanup()


class FeedServer:
    """The ``--serve`` process: started before the measured code, ended after it."""

    def __init__(self, args: argparse.Namespace) -> None:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            "--feeds",
            str(args.feeds),
            "--items",
            str(args.items),
            "--changed",
            str(args.changed),
            "--order",
            args.order,
            "--latency",
            str(args.latency),
        ]
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the feed server did not start ({self.process.wait()})")
        facts = json.loads(line)
        self.port: int = facts["port"]
        self.bytes: float = facts["bytes"]
        self.gzip_bytes: float = facts["gzip_bytes"]
        self.changed: int = facts["changed"]
        self.control = f"http://127.0.0.1:{self.port}/_bench"

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    async def generation(self, session: aiohttp.ClientSession, number: int) -> None:
        async with session.post(f"{self.control}/generation/{number}") as response:
            response.raise_for_status()

    async def stats(self, session: aiohttp.ClientSession) -> tuple[float, Counter[str]]:
        async with session.get(f"{self.control}/stats") as response:
            data = await response.json()
        return float(data["cpu"]), Counter(data["answers"])


# ------------------------------------------------------------------ the measured bot side


@dataclass(slots=True)
class Marks:
    """When the poll's steps happened (perf_counter), seen through the stores and fetcher it
    is given: the poll's own code is not touched."""

    first_fetch: float | None = None
    last_fetch: float | None = None
    first_store: float | None = None
    record_start: float | None = None
    record_end: float | None = None
    batch_seconds: float = 0.0
    batches: int = 0


class MarkedFetcher(Fetcher):
    def __init__(self, *args: Any, marks: Marks, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marks = marks

    async def fetch(
        self, url: str, validators: Validators = NO_VALIDATORS, *, use_allow_networks: bool = True
    ) -> FetchResult:
        if self.marks.first_fetch is None:
            self.marks.first_fetch = time.perf_counter()
        result = await super().fetch(url, validators, use_allow_networks=use_allow_networks)
        self.marks.last_fetch = time.perf_counter()
        return result


class MarkedSources(SourceStore):
    def __init__(self, db: Database, marks: Marks) -> None:
        super().__init__(db)
        self.marks = marks

    async def known_items(self, source_id: int, guids: Sequence[str]) -> dict[str, KnownItem]:
        if self.marks.first_store is None:
            self.marks.first_store = time.perf_counter()
        return await super().known_items(source_id, guids)

    async def record_many(self, fetches: Sequence[tuple[int, FetchRecord]]) -> None:
        self.marks.record_start = time.perf_counter()
        await super().record_many(fetches)
        self.marks.record_end = time.perf_counter()


class MarkedArticles(ArticleStore):
    def __init__(self, db: Database, marks: Marks, *, trust_published_flag: bool) -> None:
        super().__init__(db, trust_published_flag=trust_published_flag)
        self.marks = marks

    async def apply_batch(self, *args: Any, **kwargs: Any) -> BatchResult:
        started = time.perf_counter()
        try:
            return await super().apply_batch(*args, **kwargs)
        finally:
            self.marks.batch_seconds += time.perf_counter() - started
            self.marks.batches += 1


class StallProbe:
    """A task that sleeps TICK in a loop; every wake-up's lateness is a sample."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self.worst_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            woke = time.perf_counter()
            late = woke - started - TICK
            if not self.late or late > max(self.late):
                self.worst_at = woke - late  # when the stall began
            self.late.append(late)

    def __enter__(self) -> StallProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    @property
    def worst(self) -> float:
        return max(self.late, default=0.0)


@dataclass(slots=True)
class Poll:
    wall: float
    cpu_self: float
    cpu_workers: float
    worst_stall: float
    p99_stall: float
    long_stalls: int  # over STALL_TARGET
    stalled: float  # seconds lost to stalls over STALL_TARGET
    stall_phase: str
    phases: dict[str, float]
    outcomes: Counter[str]
    new: int
    updated: int
    rejected: int
    server_cpu: float
    answers: Counter[str]
    batches: int = 0
    batch_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return self.cpu_self + self.cpu_workers


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _phases(started: float, ended: float, marks: Marks) -> list[tuple[str, float, float]]:
    """(name, start, end) of each step of the poll, from the marks."""
    first_fetch = marks.first_fetch or started
    last_fetch = marks.last_fetch or first_fetch
    record_start = marks.record_start or ended
    stored = marks.first_store or record_start
    return [
        ("states", started, first_fetch),
        ("fetch", first_fetch, last_fetch),
        ("parse", last_fetch, stored),  # until the first feed is stored
        ("parse+store", stored, record_start),  # each feed stored while the next are parsed
        ("record", record_start, marks.record_end or ended),
        ("end", marks.record_end or ended, ended),
    ]


async def one_poll(
    settings: Settings,
    db: Database,
    server: FeedServer,
    session: aiohttp.ClientSession,
) -> Poll:
    marks = Marks()
    stores = stores_of(db, settings)
    stores = replace(
        stores,
        sources=MarkedSources(db, marks),
        articles=MarkedArticles(
            db, marks, trust_published_flag=settings.ingest.trust_published_flag
        ),
    )
    feeds = [configured_feed(source) for source in settings.sources if source.feed]
    server_cpu, answers = await server.stats(session)
    async with MarkedFetcher(fetch_policy(settings), marks=marks) as fetcher:
        poller = feed_poller(settings, stores, fetcher)
        cpu, children = time.process_time(), _children_cpu()
        with StallProbe() as probe:
            await asyncio.sleep(TICK * 2)  # the probe is running
            started = time.perf_counter()
            reports = await poller.poll(feeds)
            ended = time.perf_counter()
            cpu, children = time.process_time() - cpu, _children_cpu() - children
    server_after, answers_after = await server.stats(session)
    phases = _phases(started, ended, marks)
    stall_phase = next(
        (name for name, start, end in phases if start <= probe.worst_at < end), "outside"
    )
    late = probe.late or [0.0]
    return Poll(
        wall=ended - started,
        cpu_self=cpu,
        cpu_workers=children,
        worst_stall=probe.worst,
        p99_stall=percentile(late, 99),
        long_stalls=sum(1 for x in late if x > STALL_TARGET),
        stalled=sum(x for x in late if x > STALL_TARGET),
        stall_phase=stall_phase,
        phases={name: end - start for name, start, end in phases},
        outcomes=Counter(r.outcome for r in reports),
        new=sum(r.new for r in reports),
        updated=sum(r.updated for r in reports),
        rejected=sum(len(r.rejected) for r in reports),
        server_cpu=server_after - server_cpu,
        answers=answers_after - answers,
        batches=marks.batches,
        batch_seconds=marks.batch_seconds,
        notes=_problems(reports),
    )


def _problems(reports: Sequence[SourceReport]) -> list[str]:
    errors = Counter(r.error for r in reports if r.outcome == "failed")
    return [f"{count} feeds failed: {error}" for error, count in errors.most_common(3)]


def bench_settings(args: argparse.Namespace, port: int, store: Path) -> Settings:
    sources = [
        {
            "feed": f"http://127.0.0.{host_of(n, args.feeds, HOSTS, args.order)}:{port}"
            f"/feed/{n}.xml",
            "interval": "15m",
        }
        for n in range(args.feeds)
    ]
    return settings_from_mapping(
        {
            "database": {"path": str(store)},
            "sources": sources,
            "fetch": {"allow_networks": ["127.0.0.0/8"]},
        },
        {},
    )


async def rounds(args: argparse.Namespace, server: FeedServer) -> list[tuple[Poll, Poll]]:
    done: list[tuple[Poll, Poll]] = []
    async with aiohttp.ClientSession() as session:
        for number in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="newsdesk-feeds-") as tmp:
                store = Path(tmp) / "newsdesk.db"
                settings = bench_settings(args, server.port, store)
                db = await Database.open(store)
                try:
                    await server.generation(session, 0)
                    first = await one_poll(settings, db, server, session)
                    await server.generation(session, 1)
                    second = await one_poll(settings, db, server, session)
                finally:
                    await db.close()
            done.append((first, second))
            print(
                f"  round {number + 1}: first poll {first.wall:.1f} s "
                f"(stall {first.worst_stall * 1000:.0f} ms), second {second.wall:.2f} s "
                f"(stall {second.worst_stall * 1000:.0f} ms)",
                file=sys.stderr,
            )
    return done


# ------------------------------------------------------------------------------- printing


def _median(polls: Sequence[Poll], what: str) -> float:
    return statistics.median(float(getattr(p, what)) for p in polls)


def _check(poll: Poll, feeds: int, items: int, changed: int, first: bool) -> list[str]:
    """What this poll should have found, against what it did."""
    if first:
        want = (Counter({"ok": feeds}), feeds * items, 0)
    else:
        want = (
            Counter({"ok": changed, "not_modified": feeds - changed}),
            changed * NEW_ITEMS,
            changed,
        )
    got = (+poll.outcomes, poll.new, poll.updated)
    if got == want:
        return []
    return [
        f"expected outcomes {dict(want[0])}, {want[1]} new, {want[2]} updated; got "
        f"{dict(got[0])}, {got[1]} new, {got[2]} updated",
        *poll.notes,
    ]


def report(args: argparse.Namespace, server: FeedServer, done: list[tuple[Poll, Poll]]) -> None:
    hosts = max(1, min(HOSTS, args.feeds))
    cpus = len(os.sched_getaffinity(0))
    print(
        f"{args.feeds:,} feeds x {args.items} items (RSS 2.0, {server.bytes / 1024:.0f} KiB each, "
        f"{server.gzip_bytes / 1024:.0f} KiB gzipped), served by a separate process from "
        f"{hosts} loopback hosts (127.0.0.1-127.0.0.{hosts}, {args.feeds / hosts:g} feeds each, "
        f"{args.order} in the config)"
        + (f", each answer {args.latency * 1000:g} ms late" if args.latency else "")
    )
    print(
        f"second poll: {server.changed:,} feeds changed ({NEW_ITEMS} new items and a corrected "
        f"title each, new ETag), {args.feeds - server.changed:,} answer 304; fetcher: "
        f"{FetchPolicy().per_host} per host, {FETCHES_AT_ONCE} at once; {cpus} CPUs; "
        "a fresh store per round, a fresh Fetcher per poll"
    )
    print(
        "CPU = this process (loop + aiosqlite threads) + its parse workers (reaped by the pool, "
        "RUSAGE_CHILDREN); the feed server's CPU is apart, not counted"
    )
    print()
    print(
        f"{'median of ' + str(len(done)) + ' rounds':34s} {'wall':>8s} {'CPU':>8s} "
        f"{'(bot + workers)':>17s} {'worst stall':>12s} {'p99 stall':>10s} "
        f"{'stalls >50ms':>13s} {'server CPU':>11s}"
    )
    checks: list[str] = []
    for index, name in ((0, "first poll (all new)"), (1, "second poll (mostly 304)")):
        polls = [pair[index] for pair in done]
        for poll in polls:
            checks += _check(poll, args.feeds, args.items, server.changed, index == 0)
        wall, cpu = _median(polls, "wall"), _median(polls, "cpu")
        own, workers = _median(polls, "cpu_self"), _median(polls, "cpu_workers")
        print(
            f"{name:34s} {wall:6.2f} s {cpu:6.2f} s {f'({own:.2f} + {workers:.2f})':>17s} "
            f"{_median(polls, 'worst_stall') * 1000:9.1f} ms "
            f"{_median(polls, 'p99_stall') * 1000:7.1f} ms "
            f"{_median(polls, 'long_stalls'):13.0f} {_median(polls, 'server_cpu'):9.2f} s"
        )
    print()
    for index, name in ((0, "first poll"), (1, "second poll")):
        polls = [pair[index] for pair in done]
        steps = ", ".join(
            f"{step} {statistics.median(p.phases[step] for p in polls):.2f} s"
            for step in polls[0].phases
        )
        batches = statistics.median(p.batch_seconds for p in polls)
        worst = max(polls, key=lambda p: p.worst_stall)
        answers = dict(sorted(polls[-1].answers.items()))
        print(f"{name}: {steps}")
        print(
            f"  of the store step, ArticleStore.apply_batch {batches:.2f} s "
            f"({polls[-1].batches:,} batches)"
        )
        print(
            f"  {polls[-1].new:,} new, {polls[-1].updated:,} updated, "
            f"{polls[-1].rejected:,} rejected; outcomes {dict(sorted(polls[-1].outcomes.items()))};"
            f" server answers {answers}; worst stall of all rounds "
            f"{worst.worst_stall * 1000:.1f} ms, in '{worst.stall_phase}'; time lost to stalls "
            f"over 50 ms {statistics.median(p.stalled for p in polls):.2f} s"
        )
    second = [pair[1] for pair in done]
    wall = _median(second, "wall")
    stall = max(p.worst_stall for pair in done for p in pair)
    print()
    print(
        f"targets: second poll under {SECOND_POLL_TARGET:g} s: "
        f"{'yes' if wall < SECOND_POLL_TARGET else 'NO'} ({wall:.2f} s); no stall over "
        f"{STALL_TARGET * 1000:.0f} ms: {'yes' if stall <= STALL_TARGET else 'NO'} "
        f"(worst {stall * 1000:.1f} ms)"
    )
    for problem in dict.fromkeys(checks):
        print(f"WARNING: {problem}")


def samples(done: list[tuple[Poll, Poll]]) -> dict[str, list[float]]:
    """Milliseconds, for --raw (bench/ab.py)."""
    out: dict[str, list[float]] = {}
    for index, name in ((0, "first poll"), (1, "second poll")):
        for what, label in (("wall", "wall"), ("cpu", "CPU"), ("worst_stall", "worst stall")):
            out[f"{name}: {label}"] = [float(getattr(p[index], what)) * 1000 for p in done]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--changed", type=float, default=0.2, help="share changed in poll 2")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (both polls each)")
    parser.add_argument(
        "--order",
        choices=("grouped", "interleaved"),
        default="grouped",
        help="feeds of one host one after another in the config, or round robin",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds each feed answer waits (default 0)"
    )
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--rounds", type=int, default=3, help="with --baseline")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.feeds, args.items, args.changed, HOSTS, args.order, args.latency))
        return
    if args.baseline:
        passed = [
            *("--feeds", str(args.feeds), "--items", str(args.items)),
            *("--changed", str(args.changed), "--order", args.order, "--repeat", "1"),
            *("--latency", str(args.latency)),
        ]
        this, was = alternate(Path(__file__).resolve(), passed, args.baseline, args.rounds)
        side_by_side(this, was)
        return
    server = FeedServer(args)
    try:
        done = asyncio.run(rounds(args, server))
    finally:
        server.close()
    if args.raw:
        raw(samples(done))
        return
    report(args, server, done)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
