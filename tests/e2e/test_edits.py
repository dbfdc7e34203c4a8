"""Edits end to end: a later snapshot of real articles edits their posts in place, once.

The snapshots in tests/fixtures/snapshots are real Smartable files; ``after`` changes them as
the repositories do: a title corrected, an image added, related coverage grown, an excerpt
updated, a quality figure re-scored (which shows in no edit), one file left as it was.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store.times import db_time
from tests.conftest import FIXTURES
from tests.e2e.harness import (
    AI_CHANNEL,
    ALICE,
    GUILD,
    PING_ROLE,
    Running,
    make_fake,
    make_settings,
    now,
    populate,
    running_bot,
    subscription,
)
from tests.fakediscord import FORUM_CHANNEL, FakeDiscord

pytestmark = pytest.mark.slow

FORUM = 700_000_000_000_000_070
SNAPSHOTS = FIXTURES / "snapshots"
TITLE = "2020-05-29-ai-weiwei-says-new-security-law-is-the-end-of-hong-kong.md"
IMAGE = "2021-01-17-why-waymo-boss-says-self-driving-needs-to-go.md"
RELATED = (
    "2020-04-24-coronavirus-ai-trial-hopes-to-help-hospitals-plan-bed-and-ventilator-demand.md"
)
QUALITY = "2020-06-03-ai-weiwei-how-the-coronavirus-changes-time.md"
SAME = "2020-10-04-ai-weiwei-on-china-free-speech-and-a-message-for-london.md"
EXCERPT = "2021-01-18-ais-hidden-workforce-needs-recognition-and-higher-wages.md"
NEW_TITLE = "Ai Weiwei says China's new security law is the end of Hong Kong"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with make_fake() as server:
        populate(server)
        server.add_channel(GUILD, FORUM, "news-forum", type=FORUM_CHANNEL, tags=["AI"])
        yield server


def snapshot(tmp_path: Path, name: str) -> None:
    """The source directory now holds this snapshot of the repository."""
    news = tmp_path / "news"
    news.mkdir(exist_ok=True)
    for path in sorted((SNAPSHOTS / name).glob("*.md")):
        shutil.copy(path, news / path.name)


def settings_for(tmp_path: Path, *subs: dict[str, Any]) -> Any:
    return make_settings(tmp_path, subs)


def everything(channel_id: int, **rules: Any) -> dict[str, Any]:
    return subscription(channel_id, **({"max_age": None, "max_per_run": 10} | rules))


async def article_id(run: Running, name: str) -> int:
    row = await run.stores.db.fetch_one(
        "SELECT id FROM articles WHERE source_path LIKE ?", (f"%{name}",)
    )
    assert row is not None, name
    return int(row[0])


async def message_of(run: Running, channel_id: int, name: str) -> int:
    delivery = await run.delivery(channel_id, await article_id(run, name))
    assert delivery.message_id is not None
    return delivery.message_id


def forum_post(fake: FakeDiscord, thread_id: int) -> dict[str, Any]:
    [post] = [t for t in fake.threads_in(FORUM) if int(t["id"]) == thread_id]
    return post


def patches(fake: FakeDiscord, channel_id: int, message_id: int | None = None) -> list[Any]:
    target = "{message_id}" if message_id is None else str(message_id)
    return fake.calls("PATCH", f"/channels/{channel_id}/messages/{target}")


async def test_a_later_snapshot_edits_changed_posts_once_and_nothing_else(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    snapshot(tmp_path, "before")
    settings = settings_for(tmp_path, everything(AI_CHANNEL, mention_role_id=PING_ROLE))
    async with running_bot(fake, settings) as run:
        assert len((await run.run(AI_CHANNEL)).posted) == 6
        posts_before = run.post_requests(AI_CHANNEL)
        ids = {name: await message_of(run, AI_CHANNEL, name) for name in (TITLE, IMAGE, RELATED)}
        quiet = {name: await message_of(run, AI_CHANNEL, name) for name in (QUALITY, SAME)}
        snapshot(tmp_path, "after")
        await run.ingest()
        status = await fake.slash(
            GUILD, AI_CHANNEL, ALICE, "newsadmin publishing status", {"channel": AI_CHANNEL}
        )
        assert "✏️ 4 posts wait for an edit" in status.embeds[0]["description"]
        report = await run.run(AI_CHANNEL)
        assert sorted(report.edited) == sorted(
            [await article_id(run, n) for n in (TITLE, IMAGE, RELATED, EXCERPT)]
        )
        assert report.posted == []
        for message_id in ids.values():
            assert len(patches(fake, AI_CHANNEL, message_id)) == 1
        for message_id in quiet.values():
            assert patches(fake, AI_CHANNEL, message_id) == []
        assert run.post_requests(AI_CHANNEL) == posts_before  # edited, never reposted
        edited = {name: fake.message(mid) for name, mid in ids.items()}
        assert edited[TITLE]["embeds"][0]["title"] == NEW_TITLE
        assert "waymo-driverless" in edited[IMAGE]["embeds"][0]["image"]["url"]
        assert "The Guardian" in edited[RELATED]["embeds"][0]["fields"][0]["value"]
        for name, message in edited.items():
            assert message["edited_timestamp"], name
            assert message["content"] == f"<@&{PING_ROLE}>"  # kept, not sent again
        body = patches(fake, AI_CHANNEL, ids[TITLE])[0].json
        assert "content" not in body
        assert body["allowed_mentions"]["parse"] == []
        assert body["allowed_mentions"].get("roles", []) == []
        delivery = await run.delivery(AI_CHANNEL, await article_id(run, TITLE))
        assert delivery.shown_hash is not None
        again = await run.run(AI_CHANNEL)  # each change is edited once
        assert again.edited == [] and len(patches(fake, AI_CHANNEL)) == 4


async def test_forum_posts_are_renamed_and_archived_ones_archived_again(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    snapshot(tmp_path, "before")
    settings = settings_for(tmp_path, everything(FORUM))
    async with running_bot(fake, settings) as run:
        await run.run(FORUM)
        thread_id = await message_of(run, FORUM, TITLE)  # a forum post's thread has its id
        image_thread = await message_of(run, FORUM, IMAGE)
        fake.archive_thread(thread_id)
        fake.archive_thread(image_thread, locked=True)
        snapshot(tmp_path, "after")
        await run.ingest()
        report = await run.run(FORUM)
        assert await article_id(run, TITLE) in report.edited
        assert await article_id(run, IMAGE) not in report.edited
        post = forum_post(fake, thread_id)
        assert post["name"] == NEW_TITLE
        assert post["starter"]["embeds"][0]["title"] == NEW_TITLE
        assert post["thread_metadata"]["archived"] is True  # as it was before the edit
        assert len(patches(fake, thread_id, thread_id)) == 1
        assert patches(fake, image_thread) == []  # locked: not edited, and recorded
        row = await run.stores.db.fetch_one(
            "SELECT edit_due, edit_error FROM deliveries WHERE channel_id = ? AND article_id = ?",
            (FORUM, await article_id(run, IMAGE)),
        )
        assert row is not None and row[0] == 0 and "locked" in row[1]
        assert len(fake.calls("POST", f"/channels/{FORUM}/threads")) == 6  # no new posts


async def test_gone_posts_failures_and_rate_limits(tmp_path: Path, fake: FakeDiscord) -> None:
    snapshot(tmp_path, "before")
    settings = settings_for(tmp_path, everything(AI_CHANNEL))
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        gone = await message_of(run, AI_CHANNEL, EXCERPT)
        fake.delete_message(gone)  # a moderator removed the post
        snapshot(tmp_path, "after")
        await run.ingest()
        # newest posts first: TITLE, IMAGE, RELATED, EXCERPT are due, in sent order reversed
        fake.fail_next("PATCH", f"/channels/{AI_CHANNEL}/messages/{{message_id}}", 503, times=1)
        first = await run.run(AI_CHANNEL)
        assert first.edited == []  # a 5xx stops the run's edits; the edit is retried later
        assert len(patches(fake, AI_CHANNEL)) == 1
        waiting = await run.stores.edits.waiting(AI_CHANNEL)
        assert waiting == 4
        fake.fail_next(
            "PATCH", f"/channels/{AI_CHANNEL}/messages/{{message_id}}", 429, retry_after=120
        )
        await _after_backoff(run)
        limited = await run.run(AI_CHANNEL)  # Discord asks for two minutes: the next run
        assert limited.edited == [] and await run.stores.edits.waiting(AI_CHANNEL) == 4
        done = await run.run(AI_CHANNEL)
        assert len(done.edited) == 3
        assert await run.stores.edits.waiting(AI_CHANNEL) == 0
        delivery = await run.delivery(AI_CHANNEL, await article_id(run, EXCERPT))
        assert delivery.gone and delivery.state == "sent"  # recorded, never re-sent
        assert fake.message(gone)["deleted"] is True
        assert (await run.sub(AI_CHANNEL)).paused_reason is None


async def _after_backoff(run: Running) -> None:
    """The 503's retry is due after publishing.retry_backoff (1 s in these settings)."""
    await run.stores.db.execute(
        "UPDATE deliveries SET edit_next_at = ? WHERE edit_next_at IS NOT NULL",
        (db_time(now() - timedelta(seconds=1)),),
    )


async def test_three_title_corrections_rename_twice_then_the_limit_skips_the_rename(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    snapshot(tmp_path, "before")
    settings = settings_for(tmp_path, everything(FORUM))
    async with running_bot(fake, settings) as run:
        await run.run(FORUM)
        thread_id = await message_of(run, FORUM, TITLE)
        source = tmp_path / "news" / TITLE
        original = source.read_text()
        for n in ("one", "two", "three"):
            source.write_text(original.replace("is the end of", f"is the end {n} of"))
            await run.ingest()
            report = await run.run(FORUM)
            assert report.edited == [await article_id(run, TITLE)]
        post = forum_post(fake, thread_id)
        assert "end three of" in post["starter"]["embeds"][0]["title"]  # every edit was made
        assert "end two of" in post["name"]  # the third rename hit Discord's limit and was skipped


async def test_edits_off_and_the_edit_window(tmp_path: Path, fake: FakeDiscord) -> None:
    snapshot(tmp_path, "before")
    settings = settings_for(
        tmp_path, everything(AI_CHANNEL, edit_window="1d"), everything(FORUM, edits=False)
    )
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        await run.run(FORUM)
        old = await article_id(run, TITLE)
        await run.stores.db.execute(  # posted two days ago
            "UPDATE deliveries SET sent_at = ? WHERE article_id = ?",
            (db_time(now() - timedelta(days=2)), old),
        )
        snapshot(tmp_path, "after")
        await run.ingest()
        text = await run.run(AI_CHANNEL)
        assert old not in text.edited and len(text.edited) == 3
        assert (await run.run(FORUM)).edited == []
        assert len(fake.calls("PATCH", "/channels/{channel_id}/messages/{message_id}")) == 3
        assert await run.stores.edits.waiting(FORUM) == 0
        assert await run.stores.edits.waiting(AI_CHANNEL) == 0


async def test_moderators_set_edits_and_the_window_and_bad_windows_are_explained(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    snapshot(tmp_path, "before")
    settings = settings_for(tmp_path, everything(AI_CHANNEL))
    async with running_bot(fake, settings) as run:
        off = await fake.slash(
            GUILD,
            AI_CHANNEL,
            ALICE,
            "newsadmin edit",
            {"channel": AI_CHANNEL, "edits": False, "edit_window": "none"},
        )
        assert "posts never edited" in off.content, off.content
        spec = (await run.sub(AI_CHANNEL)).spec
        assert (spec.edits, spec.edit_window) == (False, None)
        bad = await fake.slash(
            GUILD,
            AI_CHANNEL,
            ALICE,
            "newsadmin edit",
            {"channel": AI_CHANNEL, "edits": True, "edit_window": "soon"},
        )
        assert "edit_window" in bad.content and "Traceback" not in bad.content, bad.content
        assert (await run.sub(AI_CHANNEL)).spec.edits is False  # nothing changed
        made = await fake.slash(
            GUILD,
            AI_CHANNEL,
            ALICE,
            "newsadmin subscribe",
            {"channel": FORUM, "edit_window": "3d"},
        )
        assert "posts edited while under 3d old" in made.content, made.content
        assert (await run.sub(FORUM)).spec.edit_window == timedelta(days=3)
