"""Self-tests of the fake's forum posts and threads against the real discord.py client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest

from tests.fakediscord import (
    CREATE_PUBLIC_THREADS,
    FORUM_CHANNEL,
    MANAGE_THREADS,
    READ_MESSAGE_HISTORY,
    REQUIRE_TAG_FLAG,
    FakeDiscord,
    Overwrite,
    patch_discord_py,
)

GUILD = 910_000_000_000_000_001
TEXT = 910_000_000_000_000_010
FORUM = 910_000_000_000_000_011
STRICT = 910_000_000_000_000_012  # requires a tag
TOKEN = "fake-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(heartbeat_interval_ms=1000, token=TOKEN) as server:
        server.add_guild(GUILD, "Forum Guild")
        server.add_channel(GUILD, TEXT, "general")
        server.add_channel(GUILD, FORUM, "news", type=FORUM_CHANNEL, tags=["AI", ("Staff", True)])
        server.add_channel(
            GUILD, STRICT, "strict", type=FORUM_CHANNEL, tags=["AI"], flags=REQUIRE_TAG_FLAG
        )
        with patch_discord_py(server):
            yield server


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    # as Newsdesk's client: a long 429 raises RateLimited instead of sleeping through it
    bot = discord.Client(intents=discord.Intents.default(), max_ratelimit_timeout=30.0)
    task = asyncio.create_task(bot.start(TOKEN))
    await fake.wait_ready()
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    try:
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)


def forum(client: discord.Client, channel_id: int = FORUM) -> discord.ForumChannel:
    channel = client.get_channel(channel_id)
    assert isinstance(channel, discord.ForumChannel)
    return channel


def text(client: discord.Client) -> discord.TextChannel:
    channel = client.get_channel(TEXT)
    assert isinstance(channel, discord.TextChannel)
    return channel


def deny(fake: FakeDiscord, channel_id: int, perm: int) -> None:
    fake.update_channel(channel_id, overwrites=[Overwrite.role(GUILD, deny=perm)])


async def test_a_forum_post_is_a_thread_whose_starter_has_its_id(
    fake: FakeDiscord, client: discord.Client
) -> None:
    news = forum(client)
    assert [t.name for t in news.available_tags] == ["AI", "Staff"]
    assert not news.flags.require_tag and forum(client, STRICT).flags.require_tag
    ai = news.get_tag(fake.tag_id(FORUM, "AI"))
    assert ai is not None
    created = await news.create_thread(
        name="A story", auto_archive_duration=60, applied_tags=[ai], embed=discord.Embed(title="x")
    )
    assert created.message.id == created.thread.id
    assert created.thread.applied_tags == [ai]
    assert created.thread.owner_id == fake.state.bot_id
    await fake.wait_for(lambda: client.get_channel(created.thread.id) is not None)
    [listed] = fake.threads_in(FORUM)
    assert listed["name"] == "A story"
    assert listed["starter"]["embeds"][0]["title"] == "x"
    assert listed["thread_metadata"]["auto_archive_duration"] == 60
    assert [t.id for t in await news.guild.active_threads()] == [created.thread.id]
    fetched = await created.thread.fetch_message(created.thread.id)
    assert fetched.embeds[0].title == "x"


async def test_forum_rules_tags_and_the_active_thread_cap(
    fake: FakeDiscord, client: discord.Client
) -> None:
    embed = discord.Embed(title="x")
    with pytest.raises(discord.HTTPException) as required:
        await forum(client, STRICT).create_thread(name="n", embed=embed)
    assert required.value.code == 40067
    staff = forum(client).get_tag(fake.tag_id(FORUM, "Staff"))
    assert staff is not None
    with pytest.raises(discord.Forbidden) as moderated:
        await forum(client).create_thread(name="n", embed=embed, applied_tags=[staff])
    assert moderated.value.code == 50013
    with pytest.raises(discord.HTTPException) as empty_name:
        await forum(client).create_thread(name="", embed=embed)
    assert empty_name.value.code == 50035
    fake.max_active_threads = 0
    with pytest.raises(discord.HTTPException) as cap:
        await forum(client).create_thread(name="n", embed=embed)
    assert cap.value.code == 160006
    assert fake.threads_in(FORUM) == [] and fake.threads_in(STRICT) == []


async def test_one_thread_per_message_with_the_messages_id(
    fake: FakeDiscord, client: discord.Client
) -> None:
    message = await text(client).send("story")
    thread = await message.create_thread(name="Discuss", auto_archive_duration=1440)
    assert thread.id == message.id and thread.parent_id == TEXT
    with pytest.raises(discord.HTTPException) as again:
        await message.create_thread(name="Discuss")
    assert again.value.code == 160004
    assert len(fake.threads_in(TEXT)) == 1
    with pytest.raises(discord.NotFound) as gone:
        await text(client).get_partial_message(1).create_thread(name="x")
    assert gone.value.code == 10008
    other = await text(client).send("another")
    deny(fake, TEXT, CREATE_PUBLIC_THREADS)
    with pytest.raises(discord.Forbidden) as refused:
        await other.create_thread(name="Discuss")
    assert refused.value.code == 50013


async def test_archived_and_locked_threads(fake: FakeDiscord, client: discord.Client) -> None:
    created = await forum(client).create_thread(name="Old", embed=discord.Embed(title="x"))
    fake.archive_thread(created.thread.id)
    archived = [t async for t in forum(client).archived_threads(limit=None)]
    assert [t.id for t in archived] == [created.thread.id]
    assert await forum(client).guild.active_threads() == []
    starter = created.message
    with pytest.raises(discord.HTTPException) as closed:
        await starter.edit(embed=discord.Embed(title="y"))
    assert closed.value.code == 50083
    thread = archived[0]
    await thread.edit(archived=False)
    await starter.edit(embed=discord.Embed(title="y"))
    await thread.edit(archived=True, name="Renamed")
    assert fake.threads_in(FORUM)[0]["name"] == "Renamed"
    fake.archive_thread(created.thread.id, locked=True)
    with pytest.raises(discord.HTTPException) as locked:
        await starter.edit(embed=discord.Embed(title="z"))
    assert locked.value.code == 160005
    with pytest.raises(discord.Forbidden):
        await thread.edit(archived=False)  # a locked thread reopens with Manage Threads only
    deny(fake, FORUM, READ_MESSAGE_HISTORY)
    with pytest.raises(discord.Forbidden):
        [t async for t in forum(client).archived_threads(limit=None)]


async def test_a_thread_is_renamed_at_most_twice_in_ten_minutes(
    fake: FakeDiscord, client: discord.Client
) -> None:
    created = await forum(client).create_thread(name="First", embed=discord.Embed(title="x"))
    thread = created.thread
    thread = await thread.edit(name="Second")
    thread = await thread.edit(name="Third")
    thread = await thread.edit(name="Third", archived=True)  # the same name is no rename
    thread = await thread.edit(archived=False)
    with pytest.raises(discord.RateLimited) as limited:
        await thread.edit(name="Fourth")
    assert 500 < limited.value.retry_after <= 600
    assert fake.threads_in(FORUM)[0]["name"] == "Third"
    other = await forum(client).create_thread(name="Other", embed=discord.Embed(title="y"))
    await other.thread.edit(name="Renamed")  # the limit is per thread


async def test_deleting_a_forum_post_needs_manage_threads(
    fake: FakeDiscord, client: discord.Client
) -> None:
    created = await forum(client).create_thread(name="Bye", embed=discord.Embed(title="x"))
    deny(fake, FORUM, MANAGE_THREADS)
    with pytest.raises(discord.Forbidden):
        await created.thread.delete()
    fake.update_channel(FORUM, overwrites=[Overwrite.role(GUILD, allow=MANAGE_THREADS)])
    await created.thread.delete()
    assert fake.threads_in(FORUM) == []
    with pytest.raises(discord.NotFound) as gone:
        await created.message.edit(embed=discord.Embed(title="y"))
    assert gone.value.code == 10003
    assert fake.unhandled == []
