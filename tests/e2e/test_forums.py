"""Forum posts and discussion threads end to end: the real bot against the fake Discord."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.delivery import ThreadState
from bot.store.times import db_time
from tests.e2e.harness import (
    AI_CHANNEL,
    ALICE,
    GUILD,
    LOG_CHANNEL,
    article,
    make_fake,
    make_settings,
    populate,
    running_bot,
    subscription,
    url_of,
)
from tests.e2e.test_process import start_bot, stop, write_config
from tests.fakediscord import (
    CREATE_PUBLIC_THREADS,
    FORUM_CHANNEL,
    MEDIA_CHANNEL,
    READ_MESSAGE_HISTORY,
    REQUIRE_TAG_FLAG,
    FakeDiscord,
    Overwrite,
)

pytestmark = pytest.mark.slow

FORUM = 700_000_000_000_000_060
STRICT = 700_000_000_000_000_061  # requires a tag; its only tag is moderated
PICKY = 700_000_000_000_000_062  # requires a tag; none matches the articles' topics
MEDIA = 700_000_000_000_000_063


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with make_fake() as server:
        populate(server)
        server.add_channel(
            GUILD, FORUM, "news-forum", type=FORUM_CHANNEL, tags=["ai", "Robotics", "Chat"]
        )
        server.add_channel(
            GUILD,
            STRICT,
            "strict",
            type=FORUM_CHANNEL,
            tags=[("Staff", True)],
            flags=REQUIRE_TAG_FLAG,
        )
        server.add_channel(
            GUILD,
            PICKY,
            "picky",
            type=FORUM_CHANNEL,
            tags=["General", "Other"],
            flags=REQUIRE_TAG_FLAG,
        )
        server.add_channel(GUILD, MEDIA, "gallery", type=MEDIA_CHANNEL, tags=["AI"])
        yield server


def posts(fake: FakeDiscord, forum: int) -> list[dict[str, Any]]:
    return fake.threads_in(forum)


def post_urls(fake: FakeDiscord, forum: int) -> list[str]:
    return [t["starter"]["embeds"][0]["url"] for t in posts(fake, forum)]


def tag_names(fake: FakeDiscord, forum: int, thread: dict[str, Any]) -> list[str]:
    names = {str(t["id"]): t["name"] for t in fake.state.channel(forum).available_tags}
    return [names[t] for t in thread["applied_tags"]]


async def test_a_forum_gets_one_post_per_article_with_matching_tags(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1, quality=90, title="  Robots  *learn*\nchess ")
    article(tmp_path, 2, quality=80, topics=["AI", "Robotics"], title="x" * 150)
    article(tmp_path, 3, quality=70, topics=["AI", "Science"])
    settings = make_settings(tmp_path, [subscription(FORUM, thread_archive="1h", max_per_run=2)])
    async with running_bot(fake, settings) as run:
        await run.run(FORUM)
        await run.run(FORUM)
        assert (await run.run(FORUM)).posted == []
        assert post_urls(fake, FORUM) == [url_of(1), url_of(2), url_of(3)]
        one, two, three = posts(fake, FORUM)
        assert one["name"] == "Robots *learn* chess"  # raw title, whitespace collapsed
        assert two["name"] == "x" * 100
        assert [tag_names(fake, FORUM, t) for t in (one, two, three)] == [
            ["ai"],
            ["ai", "Robotics"],
            ["ai"],
        ]
        assert one["thread_metadata"]["auto_archive_duration"] == 60
        starter = one["starter"]
        assert starter["id"] == one["id"]
        buttons = [c for row in starter["components"] for c in row["components"]]
        assert buttons[0]["url"] == url_of(1)
        assert starter["allowed_mentions"]["parse"] == []
        delivery = await run.delivery(FORUM, 1)
        assert delivery.state == "sent"
        assert delivery.message_id == delivery.thread_id == int(one["id"])
        assert fake.calls("POST", f"/channels/{FORUM}/messages") == []
        assert fake.unhandled == []


async def test_forum_tags_none_applies_no_tags(tmp_path: Path, fake: FakeDiscord) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(FORUM, forum_tags="none")])
    async with running_bot(fake, settings) as run:
        await run.run(FORUM)
        [post] = posts(fake, FORUM)
        assert post["applied_tags"] == []


async def test_a_lost_forum_create_is_found_among_archived_posts_not_made_again(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    article(tmp_path, 2, quality=60)
    settings = make_settings(tmp_path, [subscription(FORUM, max_per_run=1)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{FORUM}/threads", 503, processed=True)
        first = await run.run(FORUM)  # created, but the bot saw a 503
        assert first.posted == [] and len(posts(fake, FORUM)) == 1
        fake.archive_thread(int(posts(fake, FORUM)[0]["id"]))  # and Discord archived it
        await asyncio.sleep(1.1)  # retry_backoff
        second = await run.run(FORUM)
        assert second.recovered == [1]
        assert post_urls(fake, FORUM) == [url_of(1), url_of(2)]  # 1 not made again
        delivery = await run.delivery(FORUM, 1)
        assert delivery.thread_id == int(posts(fake, FORUM)[0]["id"])


async def test_a_forum_whose_posts_cannot_be_listed_is_not_posted_twice(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """Without Read Message History the archived posts cannot be listed: the default policy
    (skip) records the post as unconfirmed and tells the moderators, never a second post."""
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(FORUM)])
    async with running_bot(fake, settings) as run:
        bot_role = next(r for r in fake.state.guild(GUILD).roles.values() if r.managed)
        fake.update_channel(
            FORUM, overwrites=[Overwrite.role(bot_role.id, deny=READ_MESSAGE_HISTORY)]
        )
        forum = run.bot.get_channel(FORUM)
        await fake.wait_for(
            lambda: not forum.permissions_for(forum.guild.me).read_message_history,  # type: ignore[union-attr]
            timeout=5,
        )
        fake.fail_next("POST", f"/channels/{FORUM}/threads", 503, processed=True)
        await run.run(FORUM)
        await run.stores.db.execute("UPDATE deliveries SET next_attempt_at = NULL")
        await run.run(FORUM)
        assert (await run.delivery(FORUM, 1)).state == "unconfirmed"
        assert len(posts(fake, FORUM)) == 1
        assert "Read Message History" in fake.messages_in(LOG_CHANNEL)[-1]["content"]


async def test_a_required_tag_falls_back_to_the_first_or_pauses_with_an_alert(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(PICKY), subscription(STRICT)])
    async with running_bot(fake, settings) as run:
        await run.run(PICKY)
        [post] = posts(fake, PICKY)
        assert tag_names(fake, PICKY, post) == ["General"]
        report = await run.run(STRICT)  # its only tag is moderated: the bot may not apply it
        assert report.posted == []
        sub = await run.sub(STRICT)
        assert sub.paused_reason is not None and "tag" in sub.paused_reason
        assert fake.calls("POST", f"/channels/{STRICT}/threads") == []
        [alert] = fake.messages_in(LOG_CHANNEL)
        assert f"<#{STRICT}>" in alert["content"]
        assert (await run.run(STRICT)).not_run is not None
        assert len(fake.messages_in(LOG_CHANNEL)) == 1


async def test_a_forum_at_the_servers_thread_cap_pauses_with_the_reason(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(FORUM)])
    async with running_bot(fake, settings) as run:
        fake.max_active_threads = 0
        report = await run.run(FORUM)
        assert report.posted == [] and posts(fake, FORUM) == []
        sub = await run.sub(FORUM)
        assert sub.paused_reason is not None and "160006" in sub.paused_reason
        [alert] = fake.messages_in(LOG_CHANNEL)
        assert f"<#{FORUM}>" in alert["content"]
        fake.max_active_threads = 1000  # threads were archived: a moderator resumes it
        await run.stores.subscriptions.set_enabled(sub.id, True)
        await run.run(FORUM)
        assert post_urls(fake, FORUM) == [url_of(1)]


async def test_each_post_gets_exactly_one_discussion_thread(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    for n in (1, 2, 3):
        article(tmp_path, n, quality=90 - n, title=f"Story {n}")
    settings = make_settings(
        tmp_path, [subscription(AI_CHANNEL, thread=True, thread_archive="3d", max_per_run=1)]
    )
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        [thread] = fake.threads_in(AI_CHANNEL)
        [message] = fake.messages_in(AI_CHANNEL)
        assert thread["id"] == message["id"]  # a thread started on the post
        assert (thread["name"], thread["thread_metadata"]["auto_archive_duration"]) == (
            "Story 1",
            4320,
        )
        assert (await run.delivery(AI_CHANNEL, 1)).thread_state is ThreadState.STARTED

        # A 5xx on the thread: the post stands, the thread is owed and started next run.
        fake.fail_next("POST", r"/channels/\d+/messages/\d+/threads", 500, times=1)
        fake.fail_next("POST", r"/channels/\d+/messages/\d+/threads", 502, times=5)
        await run.run(AI_CHANNEL)
        assert len(fake.messages_in(AI_CHANNEL)) == 2 and len(fake.threads_in(AI_CHANNEL)) == 1
        assert (await run.delivery(AI_CHANNEL, 2)).thread_state is ThreadState.OWED
        fake.clear_faults()

        # The thread was made but the answer lost: starting it again meets 160004, done.
        fake.fail_next("POST", r"/channels/\d+/messages/\d+/threads", 503, processed=True)
        await run.run(AI_CHANNEL)
        assert len(fake.messages_in(AI_CHANNEL)) == 3
        await run.run(AI_CHANNEL)
        assert [t["name"] for t in fake.threads_in(AI_CHANNEL)] == ["Story 1", "Story 2", "Story 3"]
        for n in (1, 2, 3):
            assert (await run.delivery(AI_CHANNEL, n)).thread_state is ThreadState.STARTED
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(2), url_of(3)]


async def test_a_thread_discord_kept_failing_is_given_up_after_its_archive_time(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, thread=True)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", r"/channels/\d+/messages/\d+/threads", 502, times=5)
        await run.run(AI_CHANNEL)
        assert (await run.delivery(AI_CHANNEL, 1)).thread_state is ThreadState.OWED
        fake.clear_faults()
        sent = (await run.delivery(AI_CHANNEL, 1)).sent_at
        assert sent is not None
        await run.stores.db.execute(  # the post went out two days ago; threads archive in 1d
            "UPDATE deliveries SET sent_at = ? WHERE article_id = 1",
            (db_time(sent - timedelta(days=2)),),
        )
        before = len(fake.calls("POST", r"/channels/\d+/messages/\d+/threads"))
        await run.run(AI_CHANNEL)
        delivery = await run.delivery(AI_CHANNEL, 1)
        assert delivery.thread_state is ThreadState.NONE
        assert len(fake.calls("POST", r"/channels/\d+/messages/\d+/threads")) == before
        assert fake.threads_in(AI_CHANNEL) == []


@pytest.mark.parametrize("cause", ["permission", "limit"])
async def test_where_threads_cannot_start_posts_go_on_and_moderators_are_told_once(
    tmp_path: Path, fake: FakeDiscord, cause: str
) -> None:
    for n in (1, 2):
        article(tmp_path, n, quality=90 - n)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, thread=True, max_per_run=1)])
    async with running_bot(fake, settings) as run:
        if cause == "permission":
            fake.update_channel(
                AI_CHANNEL, overwrites=[Overwrite.role(GUILD, deny=CREATE_PUBLIC_THREADS)]
            )
            await fake.wait_for(
                lambda: (
                    run.bot.services.channels.channel_info(AI_CHANNEL).thread_problem  # type: ignore[union-attr]
                    is not None
                ),
                timeout=5,
            )
        else:
            fake.max_active_threads = 0
        await run.run(AI_CHANNEL)
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(2)]
        assert fake.threads_in(AI_CHANNEL) == []
        [alert] = fake.messages_in(LOG_CHANNEL)
        assert "discussion threads" in alert["content"]
        assert ("Create Public Threads" if cause == "permission" else "160006") in alert["content"]
        if cause == "permission":  # noticed from the cache: no request at all
            assert fake.calls("POST", r"/channels/\d+/messages/\d+/threads") == []
        delivery = await run.delivery(AI_CHANNEL, 2)
        assert delivery.thread_state is ThreadState.NONE
        status = await fake.slash(
            GUILD, AI_CHANNEL, ALICE, "newsadmin publishing status", {"channel": AI_CHANNEL}
        )
        assert "without threads" in status.embeds[0]["description"]


async def test_commands_take_forum_and_media_channels_and_show_ignored_options(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [])
    async with running_bot(fake, settings) as run:
        media = await fake.slash(
            GUILD, AI_CHANNEL, ALICE, "newsadmin subscribe", {"channel": MEDIA}
        )
        assert media.content.startswith("✅ Subscribed"), media.content
        await run.run(MEDIA)
        [post] = posts(fake, MEDIA)  # a post of its own, the embed alone
        assert post["starter"]["embeds"][0]["url"] == url_of(1)
        assert post["starter"]["attachments"] == []
        assert tag_names(fake, MEDIA, post) == ["AI"]
        made = await fake.slash(
            GUILD,
            AI_CHANNEL,
            ALICE,
            "newsadmin subscribe",
            {"channel": FORUM, "thread": True, "forum_tags": "none", "thread_archive": "7d"},
        )
        assert made.content.startswith("✅ Subscribed"), made.content
        spec = (await run.sub(FORUM)).spec
        assert (spec.thread, spec.forum_tags, spec.thread_archive) == (True, "none", "7d")
        preview = await fake.slash(
            GUILD, AI_CHANNEL, ALICE, "newsadmin preview", {"channel": FORUM}
        )
        shown = str(preview.embeds)
        assert "ignored here: thread" in shown.lower()
        status = await fake.slash(
            GUILD, AI_CHANNEL, ALICE, "newsadmin publishing status", {"channel": FORUM}
        )
        assert "ignored here: thread" in status.embeds[0]["description"]
        await run.run(FORUM)
        [post] = posts(fake, FORUM)
        assert post["thread_metadata"]["auto_archive_duration"] == 10080
        # typed inside the forum post: the forum's subscription
        inside = await fake.slash(GUILD, int(post["id"]), ALICE, "newsadmin preview")
        assert inside.embeds and "ignored here: thread" in str(inside.embeds).lower()


async def test_a_crash_between_forum_create_and_record_makes_no_duplicate(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """SIGKILL while Discord has created the forum post but not answered; restart: the post
    is found among the forum's threads, not made again (forum posts take no nonce)."""
    for n in (1, 2):
        article(tmp_path, n, quality=90 - n)
    write_config(tmp_path, channel_id=FORUM, max_per_run=2)
    fake.hang_next_message_create(FORUM)
    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_hung(timeout=30)
    finally:
        process.kill()
        await process.wait()
    assert post_urls(fake, FORUM) == [url_of(1)]  # created, never acknowledged
    fake.release_hung()

    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_for(lambda: len(posts(fake, FORUM)) >= 2, timeout=30)
        await asyncio.sleep(2)  # give a duplicate every chance to appear
    finally:
        status, output = await stop(process, signal.SIGTERM)
    assert status == 0, output
    assert post_urls(fake, FORUM) == [url_of(1), url_of(2)]
    assert "found an unconfirmed post in the channel" in output


async def test_a_crash_between_post_and_thread_still_makes_one_thread(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    write_config(tmp_path, thread=True)
    fake.hang_next_message_create(AI_CHANNEL)
    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_hung(timeout=30)
    finally:
        process.kill()
        await process.wait()
    fake.release_hung()
    fake.expire_nonces()
    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_for(lambda: len(fake.threads_in(AI_CHANNEL)) >= 1, timeout=30)
        await asyncio.sleep(2)
    finally:
        status, output = await stop(process, signal.SIGTERM)
    assert status == 0, output
    assert len(fake.messages_in(AI_CHANNEL)) == 1
    [thread] = fake.threads_in(AI_CHANNEL)
    assert thread["id"] == fake.messages_in(AI_CHANNEL)[0]["id"]
