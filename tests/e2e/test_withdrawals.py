"""Withdrawals end to end: a file removed from the source marks or deletes its posts; an
emptied source directory touches nothing; a restored file brings its article back."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.posts import WITHDRAWN_NOTE
from tests.conftest import FIXTURES
from tests.e2e.harness import (
    AI_CHANNEL,
    GUILD,
    LOG_CHANNEL,
    ROBOTS_CHANNEL,
    Running,
    make_fake,
    make_settings,
    populate,
    running_bot,
    subscription,
)
from tests.fakediscord import FORUM_CHANNEL, MANAGE_THREADS, FakeDiscord, Overwrite

pytestmark = pytest.mark.slow

FORUM = 700_000_000_000_000_071
PLAIN_FORUM = 700_000_000_000_000_072  # the bot may post here, not delete (no Manage Threads)
BEFORE = FIXTURES / "snapshots" / "before"
GONE = "2021-01-17-why-waymo-boss-says-self-driving-needs-to-go.md"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with make_fake() as server:
        populate(server)
        may_delete = Overwrite.member(server.state.bot_id, allow=MANAGE_THREADS)
        server.add_channel(
            GUILD, FORUM, "news-forum", type=FORUM_CHANNEL, tags=["AI"], overwrites=[may_delete]
        )
        server.add_channel(GUILD, PLAIN_FORUM, "plain-forum", type=FORUM_CHANNEL)
        yield server


def everything(channel_id: int, **rules: Any) -> dict[str, Any]:
    return subscription(channel_id, **({"max_age": None, "max_per_run": 10} | rules))


def source(tmp_path: Path) -> Path:
    news = tmp_path / "news"
    news.mkdir(exist_ok=True)
    for path in sorted(BEFORE.glob("*.md")):
        shutil.copy(path, news / path.name)
    return news


async def delivery_of(run: Running, channel_id: int, name: str) -> Any:
    row = await run.stores.db.fetch_one(
        "SELECT id FROM articles WHERE source_path LIKE ?", (f"%{name}",)
    )
    assert row is not None
    return await run.delivery(channel_id, int(row[0]))


def changes(fake: FakeDiscord, method: str, path: str) -> int:
    return len(fake.calls(method, path))


async def test_mark_and_delete_act_on_a_removed_file_and_a_restored_file_comes_back(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    news = source(tmp_path)
    settings = make_settings(
        tmp_path,
        [
            everything(AI_CHANNEL, on_removed="mark", edits=False),  # acts with edits off
            everything(FORUM, on_removed="delete"),
            everything(ROBOTS_CHANNEL),  # keep
        ],
    )
    async with running_bot(fake, settings) as run:
        for channel in (AI_CHANNEL, FORUM, ROBOTS_CHANNEL):
            assert len((await run.run(channel)).posted) == 6
        marked = await delivery_of(run, AI_CHANNEL, GONE)
        deleted = await delivery_of(run, FORUM, GONE)
        kept = await delivery_of(run, ROBOTS_CHANNEL, GONE)
        original = fake.message(marked.message_id)
        assert original is not None and "fields" in original["embeds"][0]
        text = (news / GONE).read_text()
        (news / GONE).unlink()
        await run.ingest()
        posts = {c: run.post_requests(c) for c in (AI_CHANNEL, ROBOTS_CHANNEL)}

        for channel in (AI_CHANNEL, FORUM, ROBOTS_CHANNEL):
            report = await run.run(channel)
            assert report.posted == []
        embed = fake.message(marked.message_id)["embeds"][0]  # type: ignore[index]
        assert embed["title"] == original["embeds"][0]["title"]
        assert embed["url"] == original["embeds"][0]["url"]
        assert WITHDRAWN_NOTE in embed["description"] and "fields" not in embed
        assert changes(fake, "PATCH", f"/channels/{AI_CHANNEL}/messages/{{message_id}}") == 1
        assert changes(fake, "DELETE", "/channels/{channel_id}") == 1  # the forum post's thread
        assert str(deleted.thread_id) not in [t["id"] for t in fake.threads_in(FORUM)]
        assert len(fake.threads_in(FORUM)) == 5
        assert (await delivery_of(run, FORUM, GONE)).gone
        assert fake.message(kept.message_id) is not None  # keep: untouched
        assert changes(fake, "PATCH", f"/channels/{ROBOTS_CHANNEL}/messages/{{message_id}}") == 0
        for channel in (AI_CHANNEL, FORUM, ROBOTS_CHANNEL):  # once
            assert (await run.run(channel)).edited == []

        (news / GONE).write_text(text)
        await run.ingest()
        for channel in (AI_CHANNEL, FORUM, ROBOTS_CHANNEL):
            assert (await run.run(channel)).posted == []  # the deleted post is not made again
        restored = fake.message(marked.message_id)["embeds"][0]  # type: ignore[index]
        assert restored == original["embeds"][0]
        assert len(fake.threads_in(FORUM)) == 5
        assert {c: run.post_requests(c) for c in posts} == posts


async def test_an_emptied_source_directory_withdraws_nothing_and_alerts_once(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    news = source(tmp_path)
    settings = make_settings(tmp_path, [everything(AI_CHANNEL, on_removed="delete")])
    async with running_bot(fake, settings) as run:
        assert len((await run.run(AI_CHANNEL)).posted) == 6
        for path in news.iterdir():
            path.unlink()  # as an unmounted volume looks
        jobs = run.bot.services.jobs
        for _ in range(2):
            summary = await jobs.run_ingest()
            assert summary is not None and summary.withdrawn == 0
            assert "it is empty" in summary.withdrawals_refused[0].reason
        alerts = [m["content"] for m in fake.messages_in(LOG_CHANNEL)]
        assert len(alerts) == 1 and "withdrew nothing" in alerts[0]
        assert (await run.run(AI_CHANNEL)).edited == []
        assert changes(fake, "DELETE", f"/channels/{AI_CHANNEL}/messages/{{message_id}}") == 0
        assert len(fake.messages_in(AI_CHANNEL)) == 6


async def test_a_failed_post_whose_article_is_withdrawn_meanwhile_is_never_sent(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    news = source(tmp_path)
    settings = make_settings(tmp_path, [everything(AI_CHANNEL, max_per_run=1)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503)
        assert (await run.run(AI_CHANNEL)).posted == []
        (pending,) = await run.stores.outbox.open_deliveries(AI_CHANNEL)
        row = await run.stores.db.fetch_one(
            "SELECT source_path FROM articles WHERE id = ?", (pending.article_id,)
        )
        Path(row[0]).unlink()
        await run.ingest()
        await asyncio.sleep(1.1)  # past the retry backoff
        report = await run.run(AI_CHANNEL)
        assert pending.article_id not in report.posted
        delivery = await run.delivery(AI_CHANNEL, pending.article_id)
        assert delivery.state == "failed" and "withdrawn" in (delivery.error or "")
        assert pending.article_id not in [
            d.article_id for d in await run.stores.outbox.open_deliveries(AI_CHANNEL)
        ]
        assert len(list(news.iterdir())) == 5


async def test_a_forum_post_is_not_deleted_without_manage_threads_and_that_is_recorded(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    news = source(tmp_path)
    settings = make_settings(tmp_path, [everything(PLAIN_FORUM, on_removed="delete")])
    async with running_bot(fake, settings) as run:
        assert len((await run.run(PLAIN_FORUM)).posted) == 6
        (news / GONE).unlink()
        await run.ingest()
        assert (await run.run(PLAIN_FORUM)).edited == []
        assert changes(fake, "DELETE", "/channels/{channel_id}") == 0  # noticed from the cache
        assert len(fake.threads_in(PLAIN_FORUM)) == 6
        delivery = await delivery_of(run, PLAIN_FORUM, GONE)
        row = await run.stores.db.fetch_one(
            "SELECT edit_error, edit_due FROM deliveries WHERE channel_id = ? AND article_id = ?",
            (PLAIN_FORUM, delivery.article_id),
        )
        assert "Manage Threads" in row[0] and row[1] == 0 and not delivery.gone
        assert (await run.run(PLAIN_FORUM)).edited == []  # not tried again every run
