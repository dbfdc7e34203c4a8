"""Digests end to end: each run posts one message with its best articles, each article in
exactly one digest, through edits, withdrawals, forums, a lost answer and a crash."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.posts import WITHDRAWN_NOTE, related_button_id
from tests.conftest import FIXTURES
from tests.e2e.harness import (
    AI_CHANNEL,
    BOB,
    GUILD,
    PING_ROLE,
    Running,
    article,
    make_fake,
    make_settings,
    populate,
    running_bot,
    subscription,
    url_of,
)
from tests.e2e.test_process import start_bot, stop, write_config
from tests.fakediscord import FORUM_CHANNEL, MANAGE_THREADS, FakeDiscord, Overwrite

pytestmark = pytest.mark.slow

FORUM = 700_000_000_000_000_080
SNAPSHOTS = FIXTURES / "snapshots"
TITLE = "2020-05-29-ai-weiwei-says-new-security-law-is-the-end-of-hong-kong.md"
NEW_TITLE = "Ai Weiwei says China's new security law is the end of Hong Kong"
GONE = "2021-01-17-why-waymo-boss-says-self-driving-needs-to-go.md"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with make_fake() as server:
        populate(server)
        may_delete = Overwrite.member(server.state.bot_id, allow=MANAGE_THREADS)
        server.add_channel(
            GUILD,
            FORUM,
            "news-forum",
            type=FORUM_CHANNEL,
            tags=["AI", "Robotics", "Chat"],
            overwrites=[may_delete],
        )
        yield server


def snapshot(tmp_path: Path, name: str) -> Path:
    news = tmp_path / "news"
    news.mkdir(exist_ok=True)
    for path in sorted((SNAPSHOTS / name).glob("*.md")):
        shutil.copy(path, news / path.name)
    return news


def digest(channel_id: int, **rules: Any) -> dict[str, Any]:
    return subscription(channel_id, **({"max_age": None, "mode": "digest"} | rules))


def bot_messages(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.messages_in(channel_id) if m.get("embeds")]


def carried(message: dict[str, Any]) -> list[str]:
    return [embed["url"] for embed in message["embeds"]]


async def article_ids(run: Running) -> dict[str, int]:
    rows = await run.stores.db.fetch("SELECT id, source_path FROM articles", ())
    return {Path(r["source_path"]).name: int(r["id"]) for r in rows}


async def test_each_run_posts_one_digest_and_every_article_goes_in_exactly_one(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    for n in range(1, 8):
        article(
            tmp_path,
            n,
            quality=90 - n,
            related=[{"title": "Elsewhere", "webUrl": f"https://else.example.org/{n}"}],
        )
    zone = "Pacific/Kiritimati"  # UTC+14: its date is often not UTC's
    settings = make_settings(
        tmp_path,
        [
            digest(
                AI_CHANNEL, digest_size=3, max_per_run=1, mention_role_id=PING_ROLE, timezone=zone
            )
        ],
    )
    async with running_bot(fake, settings) as run:
        days = {f"{datetime.now(UTC).astimezone(ZoneInfo(zone)):%A}"}
        first = await run.run(AI_CHANNEL)
        days.add(f"{datetime.now(UTC).astimezone(ZoneInfo(zone)):%A}")  # around midnight
        assert first.posted == [1, 2, 3]  # the best three; max_per_run is ignored
        assert (await run.run(AI_CHANNEL)).posted == [4, 5, 6]
        assert (await run.run(AI_CHANNEL)).posted == [7]
        assert (await run.run(AI_CHANNEL)).posted == []  # nothing eligible: nothing posted
        messages = bot_messages(fake, AI_CHANNEL)
        assert [carried(m) for m in messages] == [
            [url_of(1), url_of(2), url_of(3)],
            [url_of(4), url_of(5), url_of(6)],
            [url_of(7)],
        ]
        head = messages[0]["content"]
        assert head.startswith(f"<@&{PING_ROLE}> **News digest · ")
        assert head.split(" · ")[1].split(" ")[0] in days
        assert messages[0]["allowed_mentions"]["roles"] == [PING_ROLE]
        for message in messages:
            total = sum(
                len(e.get("title", ""))
                + len(e.get("description", ""))
                + len(e.get("footer", {}).get("text", ""))
                + len(e.get("author", {}).get("name", ""))
                for e in message["embeds"]
            )
            assert total <= 6000
        deliveries = [await run.delivery(AI_CHANNEL, n) for n in range(1, 8)]
        assert all(d.state == "sent" and d.digest for d in deliveries)
        assert len({d.message_id for d in deliveries}) == 3
        assert len({d.nonce for d in deliveries}) == 3
        assert run.post_requests(AI_CHANNEL) == 3

        buttons = [c for row in messages[1]["components"] for c in row["components"]]
        assert [b["custom_id"] for b in buttons] == [related_button_id(n) for n in (4, 5, 6)]
        assert buttons[1]["label"].startswith("🔗 2. Article number 5")
        record = await fake.click(int(messages[1]["id"]), related_button_id(5), BOB)
        assert record.ephemeral
        assert "https://else.example.org/5" in record.embeds[0]["description"]


async def test_a_changed_article_re_renders_its_digest_and_withdrawals_mark_then_delete(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    news = snapshot(tmp_path, "before")
    settings = make_settings(tmp_path, [digest(AI_CHANNEL, digest_size=4, on_removed="delete")])
    async with running_bot(fake, settings) as run:
        assert len((await run.run(AI_CHANNEL)).posted) == 4
        assert len((await run.run(AI_CHANNEL)).posted) == 2
        ids = await article_ids(run)
        before = {m["id"]: m for m in bot_messages(fake, AI_CHANNEL)}
        title_digest = (await run.delivery(AI_CHANNEL, ids[TITLE])).message_id

        shutil.copy(SNAPSHOTS / "after" / TITLE, news / TITLE)
        await run.ingest()
        report = await run.run(AI_CHANNEL)
        assert report.posted == [] and ids[TITLE] in report.edited
        patches = fake.calls("PATCH", f"/channels/{AI_CHANNEL}/messages/{{message_id}}")
        assert len(patches) == 1  # the digest that carries it, once, as a whole
        edited = fake.message(title_digest)
        assert edited is not None
        assert NEW_TITLE in [e["title"] for e in edited["embeds"]]
        assert len(edited["embeds"]) == len(before[str(title_digest)]["embeds"])
        assert edited["content"] == before[str(title_digest)]["content"]  # title and date stay
        assert (await run.run(AI_CHANNEL)).edited == []  # once

        gone_digest = (await run.delivery(AI_CHANNEL, ids[GONE])).message_id
        (news / GONE).unlink()
        await run.ingest()
        await run.run(AI_CHANNEL)
        marked = fake.message(gone_digest)
        assert (
            marked is not None and not marked["deleted"]
        )  # delete acts as mark on a digest that carries others
        notes = [e.get("description", "") for e in marked["embeds"]]
        assert sum(WITHDRAWN_NOTE in n for n in notes) == 1
        assert (await run.delivery(AI_CHANNEL, ids[GONE])).shown_hash == "withdrawn"

        others = [
            name
            for name, i in ids.items()
            if (await run.delivery(AI_CHANNEL, i)).message_id == gone_digest
        ]
        for name in others:
            (news / name).unlink(missing_ok=True)
        await run.ingest()
        await run.run(AI_CHANNEL)
        assert fake.message(gone_digest)["deleted"]  # type: ignore[index]  # every article it carried was withdrawn
        for name in others:
            assert (await run.delivery(AI_CHANNEL, ids[name])).gone
        assert len(bot_messages(fake, AI_CHANNEL)) == 1
        assert run.post_requests(AI_CHANNEL) == 2


async def test_a_forum_digest_is_one_post_and_a_lost_answer_is_found_not_made_again(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1, quality=90, topics=["AI"])
    article(tmp_path, 2, quality=80, topics=["Robotics"])
    article(tmp_path, 3, quality=70, topics=["Science"])
    settings = make_settings(tmp_path, [digest(FORUM, digest_size=2)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{FORUM}/threads", 503, processed=True)
        assert (await run.run(FORUM)).posted == []  # created, but the bot saw a 503
        await asyncio.sleep(1.1)  # retry_backoff
        second = await run.run(FORUM)
        assert sorted(second.recovered) == [1, 2]
        assert second.posted == [3]
        threads = fake.threads_in(FORUM)
        assert len(threads) == 2
        assert threads[0]["name"].startswith("News digest · ")
        names = {str(t["id"]): t["name"] for t in fake.state.channel(FORUM).available_tags}
        assert sorted(names[t] for t in threads[0]["applied_tags"]) == ["AI", "Robotics"]
        assert carried(threads[0]["starter"]) == [url_of(1), url_of(2)]
        first = await run.delivery(FORUM, 1)
        assert first.thread_id == int(threads[0]["id"]) == (await run.delivery(FORUM, 2)).thread_id


async def test_a_thread_starts_on_the_digest_message(tmp_path: Path, fake: FakeDiscord) -> None:
    for n in (1, 2):
        article(tmp_path, n)
    settings = make_settings(tmp_path, [digest(AI_CHANNEL, thread=True)])
    async with running_bot(fake, settings) as run:
        assert (await run.run(AI_CHANNEL)).posted == [1, 2]
        (message,) = bot_messages(fake, AI_CHANNEL)
        (thread,) = fake.threads_in(AI_CHANNEL)
        assert thread["id"] == message["id"]
        assert thread["name"].startswith("News digest · ")


async def test_a_crash_during_a_digest_send_neither_loses_nor_duplicates(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """SIGKILL while Discord has created the digest but not answered; restart much later."""
    for n in range(1, 6):
        article(tmp_path, n, quality=90 - n)
    write_config(tmp_path, mode="digest", digest_size=2)
    fake.hang_next_message_create(AI_CHANNEL)
    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_hung(timeout=30)
    except TimeoutError:
        if process.returncode is None:
            process.kill()
        output, _ = await process.communicate()
        pytest.fail(f"no digest was sent; the bot said:\n{output.decode()[-4000:]}")
    process.kill()
    await process.wait()
    assert [carried(m) for m in bot_messages(fake, AI_CHANNEL)] == [[url_of(1), url_of(2)]]
    fake.release_hung()
    fake.expire_nonces()

    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_for_messages(AI_CHANNEL, 3, timeout=30)
        await asyncio.sleep(2)  # give a duplicate every chance to appear
    finally:
        status, output = await stop(process, signal.SIGTERM)
    assert status == 0, output
    assert [carried(m) for m in bot_messages(fake, AI_CHANNEL)] == [
        [url_of(1), url_of(2)],
        [url_of(3), url_of(4)],
        [url_of(5)],
    ]
    assert "found an unconfirmed post in the channel" in output


async def test_discord_failures_on_a_digest_act_on_all_its_articles(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    for n in range(1, 9):
        article(tmp_path, n, quality=90 - n)
    settings = make_settings(tmp_path, [digest(AI_CHANNEL, digest_size=2)])
    async with running_bot(fake, settings) as run:
        sub = await run.sub(AI_CHANNEL)
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 403, code=50013)
        refused = await run.run(AI_CHANNEL)  # nothing was created: forgotten, and paused
        assert refused.posted == [] and refused.error is not None
        assert await run.stores.outbox.open_deliveries(AI_CHANNEL) == []
        assert (await run.sub(AI_CHANNEL)).paused_reason is not None
        await run.stores.subscriptions.resume(sub.id)

        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503)  # nothing created
        assert (await run.run(AI_CHANNEL)).posted == []
        pending = await run.stores.outbox.open_deliveries(AI_CHANNEL)
        assert sorted(d.article_id for d in pending) == [1, 2]
        await asyncio.sleep(1.1)  # retry_backoff
        # not found: sent again, whole; then the run's own digest
        assert (await run.run(AI_CHANNEL)).posted == [1, 2, 3, 4]

        # Discord rejects the digest {5, 6}, then 5 alone: only 5 is quarantined
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 400, code=50035, times=2)
        split = await run.run(AI_CHANNEL)
        assert split.quarantined == [5] and split.posted == [6]
        assert (await run.run(AI_CHANNEL)).posted == [7, 8]  # the run after goes on
        assert [carried(m) for m in bot_messages(fake, AI_CHANNEL)] == [
            [url_of(1), url_of(2)],
            [url_of(3), url_of(4)],
            [url_of(6)],
            [url_of(7), url_of(8)],
        ]
        for n in (1, 2, 3, 4, 6, 7, 8):
            assert (await run.delivery(AI_CHANNEL, n)).state == "sent"


@pytest.mark.parametrize("mode", ["digest", "posts"])
async def test_a_public_news_answer_is_never_taken_for_a_lost_post(
    tmp_path: Path, fake: FakeDiscord, mode: str
) -> None:
    """A member's /news latest in the channel is the bot's message too, and links the very
    articles a failed send carried: it must not count as their post."""
    for n in range(1, 5):
        article(tmp_path, n, quality=90 - n)
    rules = {"digest_size": 2, "max_per_run": 2, "mode": mode}
    settings = make_settings(tmp_path, [digest(AI_CHANNEL, **rules)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503)  # nothing created
        await run.run(AI_CHANNEL)
        latest = await fake.slash(GUILD, AI_CHANNEL, BOB, "news latest", {})
        assert url_of(1) in [e.get("url") for e in latest.embeds] and not latest.ephemeral
        await asyncio.sleep(1.1)  # retry_backoff
        report = await run.run(AI_CHANNEL)
        assert report.recovered == [] and report.posted[:2] == [1, 2]
        posts = fake.messages_in(AI_CHANNEL, include_interaction_responses=False)
        urls = [u for m in posts for u in carried(m)]
        assert urls[:2] == [url_of(1), url_of(2)] and len(urls) == len(set(urls))


async def test_a_digest_sent_again_without_its_first_article_still_gets_its_thread(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    paths = {n: article(tmp_path, n, quality=90 - n) for n in range(1, 4)}
    settings = make_settings(tmp_path, [digest(AI_CHANNEL, digest_size=2, thread=True)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503)  # nothing created
        assert (await run.run(AI_CHANNEL)).posted == []
        paths[1].unlink()  # its first article leaves its source meanwhile
        await run.ingest()
        await asyncio.sleep(1.1)  # retry_backoff
        fake.fail_next("POST", "/channels/{channel_id}/messages/{message_id}/threads", 503)
        again = await run.run(AI_CHANNEL)
        assert again.posted[:1] == [2]  # {2} again, without 1; then {3}
        assert (await run.delivery(AI_CHANNEL, 1)).state == "failed"
        await run.run(AI_CHANNEL)  # the thread still owed is started now
        messages = bot_messages(fake, AI_CHANNEL)
        threads = {t["id"] for t in fake.threads_in(AI_CHANNEL)}
        assert [carried(m) for m in messages] == [[url_of(2)], [url_of(3)]]
        assert all(m["id"] in threads for m in messages)


async def test_keep_shows_a_withdrawn_article_as_it_was_and_leaves_the_queue(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    news = snapshot(tmp_path, "before")
    settings = make_settings(tmp_path, [digest(AI_CHANNEL, digest_size=6)])  # on_removed keep
    async with running_bot(fake, settings) as run:
        assert len((await run.run(AI_CHANNEL)).posted) == 6
        (news / GONE).unlink()
        shutil.copy(SNAPSHOTS / "after" / TITLE, news / TITLE)
        await run.ingest()
        assert len((await run.run(AI_CHANNEL)).edited) == 6  # the digest, once
        (message,) = bot_messages(fake, AI_CHANNEL)
        assert not any(WITHDRAWN_NOTE in e.get("description", "") for e in message["embeds"])
        assert NEW_TITLE in [e["title"] for e in message["embeds"]]
        assert await run.stores.edits.waiting(AI_CHANNEL) == 0
        assert (await run.run(AI_CHANNEL)).edited == []
