"""Withdrawals against real files and a real SQLite file: what leaves a source, and the rules
that keep an unmounted volume from withdrawing a channel's history."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
import yaml

from bot.domain.export import article_to_source, to_json_ready
from bot.domain.server_sources import SERVER_KEY_PREFIX
from bot.services.ingest.ingestor import Ingestor, IngestSummary
from bot.settings import IngestSettings
from bot.store.articles import ArticleStore, FileState
from bot.store.browse import BrowseStore, fts_query
from bot.store.db import Database
from bot.store.withdrawals import WithdrawalStore, key_range, outside
from tests.support.articles import write_article

TOPIC = "Robots"


def url_of(n: int) -> str:
    return f"https://news.example.com/articles/{n}"


def make_source(directory: Path, count: int, first: int = 1) -> list[Path]:
    return [
        write_article(directory, f"a{n:03d}.md", n, topics=[TOPIC])
        for n in range(first, first + count)
    ]


@pytest.fixture
def desk(db: Database) -> Ingestor:
    return Ingestor(
        ArticleStore(db), IngestSettings(), withdrawals=WithdrawalStore(db), batch_articles=7
    )


async def scan(desk: Ingestor, *roots: Path, allow: bool = False) -> IngestSummary:
    return await desk.ingest(list(roots), sources=True, allow_withdrawals=allow)


async def state(db: Database, n: int) -> tuple[bool, int, list[int]]:
    """(withdrawn, postable, postable of its topic links) of article n."""
    row = await db.fetch_one(
        "SELECT id, withdrawn_at IS NOT NULL, postable FROM articles WHERE url = ?", (url_of(n),)
    )
    assert row is not None
    links = await db.fetch("SELECT postable FROM article_topics WHERE article_id = ?", (row[0],))
    return bool(row[1]), row[2], [r[0] for r in links]


async def topic_count(db: Database) -> int:
    row = await db.fetch_one("SELECT article_count FROM topics WHERE name = ?", (TOPIC,))
    return int(row[0])


async def test_a_removed_file_withdraws_its_article_and_a_restored_one_brings_it_back(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    assert (await scan(desk, tmp_path / "news")).new == 25
    text = files[4].read_text()
    files[4].unlink()

    summary = await scan(desk, tmp_path / "news")
    assert summary.withdrawn == 1 and summary.withdrawals_refused == []
    assert await state(db, 5) == (True, 0, [0])
    assert await state(db, 6) == (False, 1, [1])
    assert await topic_count(db) == 24
    assert json.loads(json.dumps(summary.as_dict()))["withdrawn"] == 1
    assert (await scan(desk, tmp_path / "news")).withdrawn == 0  # once

    files[4].write_text(text)
    back = await scan(desk, tmp_path / "news")
    assert (back.new, back.updated, back.withdrawn) == (0, 1, 0)
    assert await state(db, 5) == (False, 1, [1])
    assert await topic_count(db) == 25


async def test_withdrawn_articles_are_hidden_from_every_listing(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    files[0].unlink()  # article 1
    await scan(desk, tmp_path / "news")
    browse = BrowseStore(db)
    gone = url_of(1)
    topic = await db.fetch_one("SELECT id FROM topics WHERE name = ?", (TOPIC,))
    listings = [
        await browse.latest(100, guild=None),
        await browse.topic_page(topic[0], "quality", 100, guild=None),
        await browse.topic_page(topic[0], "recent", 100, guild=None),
        await browse.complete_article("Article numb", guild=None),
        await browse.summaries(list(range(1, 30)), guild=None),
    ]
    for listing in listings:
        assert listing and gone not in [a.url for a in listing]
    assert len(await browse.latest(100, guild=None)) == 24
    page = await browse.topic_page(topic[0], "recent", 5, offset=20, guild=None)
    assert len(page) == 4  # pages skip it: full up to the end
    withdrawn_id = (await db.fetch_one("SELECT id FROM articles WHERE url = ?", (gone,)))[0]
    for text, found in (("robots", 24), ("Article number 1 about robots", 0)):
        query = fts_query(text)
        assert query is not None
        matches = await browse.search(query, None, guild=None)
        assert len(matches) == found and withdrawn_id not in [m.id for m in matches]


async def test_an_emptied_or_missing_directory_withdraws_nothing_until_allowed(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    for path in files:
        path.unlink()
    summary = await scan(desk, tmp_path / "news")
    assert summary.withdrawn == 0
    (refused,) = summary.withdrawals_refused
    assert refused.source == str(tmp_path / "news")
    assert "empty" in refused.reason and "--allow-withdrawals" in refused.reason
    assert (await scan(desk, tmp_path / "news")).withdrawals_refused  # weighed again
    assert await state(db, 1) == (False, 1, [1])

    (tmp_path / "news").rmdir()  # the bot skips a missing source; by hand it is an error
    desk_paths = [tmp_path / "news"]
    with pytest.raises(Exception, match="no such file"):
        await desk.ingest(desk_paths, sources=True)
    (tmp_path / "news").mkdir()
    allowed = await scan(desk, tmp_path / "news", allow=True)
    assert (allowed.withdrawn, allowed.withdrawals_refused) == (25, [])


@pytest.mark.parametrize(("removed", "refused"), [(5, False), (6, True)])
async def test_more_than_withdraw_limit_of_a_source_withdraws_nothing(
    tmp_path: Path, desk: Ingestor, db: Database, removed: int, refused: bool
) -> None:
    files = make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    for path in files[:removed]:
        path.unlink()
    summary = await scan(desk, tmp_path / "news")
    if refused:  # 6 of 25 is more than 20%
        assert summary.withdrawn == 0
        (reason,) = summary.withdrawals_refused
        assert "6 of its 25 articles" in reason.reason and "withdraw_limit (20%)" in reason.reason
        assert (await scan(desk, tmp_path / "news", allow=True)).withdrawn == 6
    else:  # 5 of 25 is 20%: not more
        assert (summary.withdrawn, summary.withdrawals_refused) == (5, [])


async def test_small_sources_are_exempt_from_the_limit_but_not_from_the_empty_rule(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    small = make_source(tmp_path / "small", 10)
    big = make_source(tmp_path / "big", 25, first=100)
    await scan(desk, tmp_path / "small", tmp_path / "big")
    for path in small[:9]:
        path.unlink()
    big[0].unlink()
    summary = await scan(desk, tmp_path / "small", tmp_path / "big")
    assert (summary.withdrawn, summary.withdrawals_refused) == (10, [])  # 9 + 1, per source
    small[9].unlink()
    last = await scan(desk, tmp_path / "small", tmp_path / "big")
    assert last.withdrawn == 0 and "empty" in last.withdrawals_refused[0].reason


async def test_a_url_another_file_carries_is_not_withdrawn(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    make_source(tmp_path / "news", 25)
    twin = write_article(tmp_path / "news" / "z", "twin.md", 1, topics=[TOPIC])  # also URL 1
    outsider = write_article(tmp_path / "elsewhere", "x.md", 2, topics=[TOPIC])
    await scan(desk, tmp_path / "news")
    await desk.ingest([outsider])  # by its path: remembered, outside every source
    (tmp_path / "news" / "a001.md").unlink()
    (tmp_path / "news" / "a002.md").unlink()
    summary = await scan(desk, tmp_path / "news")
    assert summary.withdrawn == 0
    assert await state(db, 1) == (False, 1, [1])
    assert await state(db, 2) == (False, 1, [1])
    twin.unlink()  # now nothing under the source carries URL 1
    assert (await scan(desk, tmp_path / "news")).withdrawn == 1
    assert (await state(db, 1))[0]


async def test_an_unparseable_file_is_a_rejection_not_a_withdrawal(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    files[0].write_text("---\ntitle: [unclosed\n---\n")
    summary = await scan(desk, tmp_path / "news")
    assert (summary.withdrawn, len(summary.rejected)) == (0, 1)
    assert await state(db, 1) == (False, 1, [1])


async def test_ingesting_paths_by_hand_never_withdraws(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    await desk.ingest([tmp_path / "news"])
    files[0].unlink()
    assert (await desk.ingest([tmp_path / "news"])).withdrawn == 0
    assert await state(db, 1) == (False, 1, [1])
    assert (await scan(desk, tmp_path / "news")).withdrawn == 1  # the source scan does


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
async def test_a_directory_that_cannot_be_read_withdraws_nothing_even_when_allowed(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    make_source(tmp_path / "news", 20)
    make_source(tmp_path / "news" / "locked", 5, first=50)
    await scan(desk, tmp_path / "news")
    (tmp_path / "news" / "locked").chmod(0)
    try:
        summary = await scan(desk, tmp_path / "news", allow=True)
    finally:
        (tmp_path / "news" / "locked").chmod(0o755)
    assert summary.withdrawn == 0
    assert "could not be read" in summary.withdrawals_refused[0].reason
    assert await state(db, 50) == (False, 1, [1])


async def test_a_withdrawn_article_round_trips_through_export(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    files[2].unlink()
    await scan(desk, tmp_path / "news")
    store = ArticleStore(db)
    exported = [to_json_ready(article_to_source(a, posted=p)) async for a, p in store.iter_all()]
    withdrawn = [e for e in exported if "withdrawnDateTime" in e]
    assert [e["webUrl"] for e in withdrawn] == [url_of(3)]
    (tmp_path / "export.json").write_text(json.dumps(exported))

    fresh = await Database.open(tmp_path / "fresh.db")
    try:
        again = Ingestor(ArticleStore(fresh), IngestSettings(), withdrawals=WithdrawalStore(fresh))
        assert (await again.ingest([tmp_path / "export.json"])).new == 25
        assert await state(fresh, 3) == (True, 0, [0])
        assert await state(fresh, 4) == (False, 1, [1])
        back = [
            to_json_ready(article_to_source(a, posted=p))
            async for a, p in ArticleStore(fresh).iter_all()
        ]
        assert back == exported
    finally:
        await fresh.close()
    bad = yaml.safe_dump({**withdrawn[0], "withdrawnDateTime": "soon"})
    (tmp_path / "bad.yaml").write_text(bad)
    (rejection,) = (await desk.ingest([tmp_path / "bad.yaml"])).rejected
    assert "withdrawnDateTime: expected a date and time" in rejection.error


async def test_the_published_flag_switch_never_makes_a_withdrawn_article_postable(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    files[0].unlink()
    await scan(desk, tmp_path / "news")
    for trust in (False, True, False):
        await ArticleStore(db, trust_published_flag=trust).apply_published_policy()
        assert await state(db, 1) == (True, 0, [0])


def test_the_ranges_of_directories_and_of_what_lies_outside_them() -> None:
    low, high = key_range("/data/news")
    assert low <= "/data/news/a.md" < high and low <= "/data/news/sub/z.md" < high
    assert not low <= "/data/news-old/a.md" < high and not low <= "/data/news" < high
    gaps = outside(["/b", "/a", "/a/x"])
    assert gaps == [("", "/a/"), ("/a0", "/b/"), ("/b0", None)]


async def test_a_withdrawn_newest_match_does_not_hide_the_others(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    files = make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    files[-1].unlink()  # the newest id
    await scan(desk, tmp_path / "news")
    found = await BrowseStore(db).complete_article("Article abo", limit=1, guild=None)
    assert [a.url for a in found] == [url_of(24)]


async def test_a_file_the_scan_does_not_read_still_carries_its_url(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    store = ArticleStore(db)
    exported = [to_json_ready(article_to_source(a)) async for a, _ in store.iter_all()]
    (tmp_path / "news" / "archive.json").write_text(json.dumps(exported[4:5]))
    await desk.ingest([tmp_path / "news" / "archive.json"])  # by hand: inside the source
    (tmp_path / "news" / "a005.md").unlink()
    assert (await scan(desk, tmp_path / "news")).withdrawn == 0
    assert await state(db, 5) == (False, 1, [1])


async def test_two_scans_at_once_withdraw_and_uncount_once(tmp_path: Path, db: Database) -> None:
    files = make_source(tmp_path / "news", 25)
    other = await Database.open(tmp_path / "newsdesk.db")
    try:
        desks = [
            Ingestor(ArticleStore(d), IngestSettings(), withdrawals=WithdrawalStore(d))
            for d in (db, other)
        ]
        await scan(desks[0], tmp_path / "news")
        files[0].unlink()
        files[1].unlink()
        await asyncio.gather(*(scan(d, tmp_path / "news") for d in desks))
        assert await topic_count(db) == 23
    finally:
        await other.close()


async def test_a_servers_own_feed_does_not_keep_a_global_article_from_withdrawal(
    tmp_path: Path, desk: Ingestor, db: Database
) -> None:
    make_source(tmp_path / "news", 25)
    await scan(desk, tmp_path / "news")
    store = ArticleStore(db)
    # server 7's feed and a configured feed both carry what files 3 and 4 carry
    server_feed = f"{SERVER_KEY_PREFIX}7:https://feeds.example.net/f"
    await store.apply_batch([], [FileState(server_feed, 0, 0, 0, 0, (url_of(3),))], guild=7)
    config_feed = "feed:https://feeds.example.net/global"
    await store.apply_batch([], [FileState(config_feed, 0, 0, 0, 0, (url_of(4),))])
    (tmp_path / "news" / "a003.md").unlink()
    (tmp_path / "news" / "a004.md").unlink()
    assert (await scan(desk, tmp_path / "news")).withdrawn == 1
    assert (await state(db, 3))[0]  # every server saw it: one server's feed cannot keep it
    assert not (await state(db, 4))[0]  # a global source still has it
