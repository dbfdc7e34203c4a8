"""Self-tests of ``tests.fakediscord`` against the real discord.py client (not the Newsdesk bot).

Each test runs a bare ``discord.Client`` with an ``app_commands.CommandTree`` (``FakeBot``) against
a fresh fake server and checks both sides: what discord.py sees and what the fake recorded.
"""

from __future__ import annotations

import asyncio
import io
import os
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fakediscord import (
    ALL_PERMISSIONS,
    MANAGE_GUILD,
    NEWS_CHANNEL,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeDiscord,
    Overwrite,
    launch,
    patch_discord_py,
)
from tests.fakediscord.permissions import CHANNEL_PERMISSIONS, VOICE_PERMISSIONS

GUILD = 900_000_000_000_000_001
TEXT = 900_000_000_000_000_010
NEWS = 900_000_000_000_000_011
LOCKED = 900_000_000_000_000_012  # @everyone may not send; the mod role may
HIDDEN = 900_000_000_000_000_013  # @everyone may not view
MOD_ROLE = 900_000_000_000_000_020
ALICE = 900_000_000_000_000_030  # moderator (Manage Server through MOD_ROLE)
BOB = 900_000_000_000_000_031  # plain member
TOKEN = "fake-token"


class RelatedButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"related:(?P<article>\w+)"
):
    """A persistent button whose state lives in its custom_id."""

    def __init__(self, article: str) -> None:
        super().__init__(discord.ui.Button(label="Related", custom_id=f"related:{article}"))
        self.article = article

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: Any,
    ) -> RelatedButton:
        return cls(match["article"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(f"related {self.article}", ephemeral=True)


def install_commands(tree: app_commands.CommandTree[Any]) -> None:
    guild = discord.Object(GUILD)

    @tree.command(name="ping", description="Global command that is never synced")
    async def ping(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("pong")

    @tree.command(name="slow", description="Defers, then follows up", guild=guild)
    async def slow(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done", ephemeral=True)

    @tree.command(name="late", description="Answers after the deadline", guild=guild)
    async def late(interaction: discord.Interaction[Any]) -> None:
        await asyncio.sleep(0.4)
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as exc:
            interaction.client.errors.append(exc)

    async def topic_choices(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        topics = ["python", "pytest", "rust", "release notes"]
        return [app_commands.Choice(name=t, value=t) for t in topics if t.startswith(current)]

    @tree.command(name="topic", description="Autocompleted topic", guild=guild)
    @app_commands.autocomplete(name=topic_choices)
    async def topic(interaction: discord.Interaction[Any], name: str) -> None:
        await interaction.response.send_message(f"topic {name}")

    newsadmin = app_commands.Group(
        name="newsadmin",
        description="Moderator commands",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )
    publishing = app_commands.Group(name="publishing", description="Publishing", parent=newsadmin)

    @publishing.command(name="off", description="Stop publishing to a channel")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def off(interaction: discord.Interaction[Any], channel: discord.TextChannel) -> None:
        await interaction.response.send_message(f"off {channel.id} {channel.name}", ephemeral=True)

    @off.error
    async def off_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await interaction.response.send_message("denied", ephemeral=True)

    tree.add_command(newsadmin, guild=guild)

    @tree.command(name="feedback", description="Opens a modal", guild=guild)
    async def feedback(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(FeedbackModal())


class ControlView(discord.ui.View):
    """A persistent view: one button updates its message, the select defers and edits it."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Toggle", custom_id="control:toggle")
    async def toggle(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(content="toggled")

    @discord.ui.select(
        custom_id="control:pick",
        options=[discord.SelectOption(label="a"), discord.SelectOption(label="b")],
    )
    async def pick(
        self, interaction: discord.Interaction[Any], select: discord.ui.Select[Any]
    ) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"picked {select.values[0]}")


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Text", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class FakeBot(discord.Client):
    def __init__(self, *, intents: discord.Intents | None = None) -> None:
        super().__init__(intents=intents or discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        install_commands(self.tree)
        self.ready = asyncio.Event()
        self.ready_count = 0
        self.events: list[tuple[str, Any]] = []
        self.errors: list[Exception] = []

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before each IDENTIFY but the first; no need against the fake."""

    async def setup_hook(self) -> None:
        self.add_dynamic_items(RelatedButton)
        self.add_view(ControlView())
        await self.tree.sync(guild=discord.Object(GUILD))

    async def on_ready(self) -> None:
        self.ready_count += 1
        self.ready.set()

    async def on_guild_channel_update(self, before: Any, after: discord.abc.GuildChannel) -> None:
        self.events.append(("channel_update", after.name))

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.events.append(("guild_remove", guild.id))

    async def on_message(self, message: discord.Message) -> None:
        self.events.append(("message", message.content))


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(heartbeat_interval_ms=1000, token=TOKEN) as server:
        server.add_guild(GUILD, "News Guild")
        server.add_role(GUILD, MOD_ROLE, "mods", MANAGE_GUILD)
        server.add_channel(GUILD, TEXT, "general")
        server.add_channel(GUILD, NEWS, "announcements", type=NEWS_CHANNEL)
        server.add_channel(
            GUILD,
            LOCKED,
            "locked",
            overwrites=[
                Overwrite.role(GUILD, deny=SEND_MESSAGES),
                Overwrite.role(MOD_ROLE, allow=SEND_MESSAGES),
            ],
        )
        server.add_channel(
            GUILD, HIDDEN, "hidden", overwrites=[Overwrite.role(GUILD, deny=VIEW_CHANNEL)]
        )
        server.add_member(GUILD, ALICE, "alice", roles=[MOD_ROLE])
        server.add_member(GUILD, BOB, "bob")
        with patch_discord_py(server):
            yield server


async def start(client: discord.Client, fake: FakeDiscord) -> asyncio.Task[None]:
    """Start ``client`` and wait for its on_ready (failing fast if start() raises)."""
    task = asyncio.create_task(client.start(TOKEN))
    ready = asyncio.ensure_future(client.ready.wait())  # type: ignore[attr-defined]
    done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await asyncio.gather(ready, return_exceptions=True)
        if task.done():
            task.result()
        raise TimeoutError("client did not become ready")
    assert fake.connected
    return task


async def stop(client: discord.Client, task: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(task, 5)


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[FakeBot]:
    client = FakeBot()
    task = await start(client, fake)
    try:
        yield client
    finally:
        await stop(client, task)


def text_channel(bot: discord.Client, channel_id: int = TEXT) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


# --------------------------------------------------------------------------- connect


async def test_ready_with_guild_channels_and_permissions(fake: FakeDiscord) -> None:
    client = FakeBot(intents=discord.Intents.default() | discord.Intents(members=True))
    task = await start(client, fake)
    try:
        guild = client.get_guild(GUILD)
        assert guild is not None
        assert guild.name == "News Guild"
        assert {c.id for c in guild.channels} == {TEXT, NEWS, LOCKED, HIDDEN}
        news = text_channel(client, NEWS)
        assert news.is_news()
        assert not text_channel(client, TEXT).is_news()
        me = guild.me
        assert me.id == fake.state.bot_id
        for channel in guild.channels:
            for member in (me, guild.get_member(ALICE), guild.get_member(BOB)):
                assert member is not None
                expected = fake.permissions_in(channel.id, member.id)
                assert channel.permissions_for(member).value == expected, (
                    channel.name,
                    member.name,
                )
        locked = text_channel(client, LOCKED)
        assert not locked.permissions_for(me).send_messages
        assert locked.permissions_for(guild.get_member(ALICE)).send_messages  # type: ignore[arg-type]
        assert not text_channel(client, HIDDEN).permissions_for(me).view_channel
        assert text_channel(client, TEXT).permissions_for(me).embed_links
        assert fake.identify_count == 1
        assert fake.gateway.identify_payloads[0]["intents"] == client.intents.value
        assert [r.path for r in fake.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]
        assert fake.unhandled == []
    finally:
        await stop(client, task)


async def test_gateway_zlib_stream_compression() -> None:
    async with FakeDiscord(heartbeat_interval_ms=1000, gateway_compression=True) as fake:
        fake.add_guild(GUILD)
        fake.add_channel(GUILD, TEXT, "general")
        with patch_discord_py(fake):
            client = FakeBot()
            task = await start(client, fake)
            try:
                assert "compress=zlib-stream" in fake.gateway.connection_urls[0]
                assert text_channel(client).name == "general"
            finally:
                await stop(client, task)


async def test_wrong_token_is_refused(fake: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


# --------------------------------------------------------------------------- messages


async def test_same_nonce_creates_one_message(fake: FakeDiscord, bot: FakeBot) -> None:
    channel = text_channel(bot)
    embed = discord.Embed(title="Release 1.0", description="Notes", url="https://example.org/1")
    first = await channel.send(embed=embed, nonce="abc")
    second = await channel.send(embed=embed, nonce="abc")
    assert first.id == second.id
    stored = fake.messages_in(TEXT)
    assert len(stored) == 1
    assert stored[0]["embeds"][0]["title"] == "Release 1.0"
    assert stored[0]["nonce"] == "abc"
    assert stored[0]["enforce_nonce"] is True
    assert fake.nonce_hits == 1
    assert len(fake.calls("POST", "/channels/{channel_id}/messages")) == 2

    fake.expire_nonces()
    third = await channel.send(embed=embed, nonce="abc")
    assert third.id != first.id
    assert len(fake.messages_in(TEXT)) == 2


async def test_history_after_before_and_oldest_first(fake: FakeDiscord, bot: FakeBot) -> None:
    channel = text_channel(bot)
    ids = [int(fake.user_message(TEXT, BOB, f"m{i}", dispatch=False)["id"]) for i in range(130)]
    assert ids == sorted(ids)

    after = [m.id async for m in channel.history(after=discord.Object(ids[9]), limit=None)]
    assert after == ids[10:]  # after= defaults to oldest first, across two pages
    newest_first = [
        m.id
        async for m in channel.history(after=discord.Object(ids[9]), limit=None, oldest_first=False)
    ]
    assert newest_first == ids[10:][::-1]
    assert [m.id async for m in channel.history(limit=None, oldest_first=True)] == ids
    assert [m.id async for m in channel.history(limit=3)] == ids[-3:][::-1]
    before = [m.id async for m in channel.history(before=discord.Object(ids[120]), limit=110)]
    assert before == ids[10:120][::-1]
    window = [
        m.id
        async for m in channel.history(after=discord.Object(ids[4]), before=discord.Object(ids[8]))
    ]
    assert window == ids[5:8]
    # Discord itself answers newest first, also for after=.
    raw = await bot.http.logs_from(TEXT, 5, after=ids[0])
    assert [int(m["id"]) for m in raw] == ids[1:6][::-1]
    assert "nonce" not in raw[0]


async def test_message_edit_delete_fetch_crosspost(fake: FakeDiscord, bot: FakeBot) -> None:
    news = text_channel(bot, NEWS)
    msg = await news.send("breaking")
    edited = await msg.edit(content="breaking, updated")
    assert edited.edited_at is not None
    fetched = await news.fetch_message(msg.id)
    assert fetched.content == "breaking, updated"
    await msg.publish()
    stored = fake.message(msg.id)
    assert stored is not None
    assert stored["flags"] & 1  # CROSSPOSTED
    with pytest.raises(discord.HTTPException) as again:
        await msg.publish()
    assert again.value.code == 40033

    text_msg = await text_channel(bot).send("not news")
    with pytest.raises(discord.HTTPException) as wrong_type:
        await text_msg.publish()
    assert wrong_type.value.code == 50024

    await msg.delete()
    assert fake.messages_in(NEWS) == []
    with pytest.raises(discord.NotFound) as gone:
        await news.fetch_message(msg.id)
    assert gone.value.code == 10008


async def test_discord_limits_are_enforced(fake: FakeDiscord, bot: FakeBot) -> None:
    channel = text_channel(bot)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send(embed=discord.Embed(description="x" * 4097))
    assert too_long.value.status == 400
    assert too_long.value.code == 50035
    assert "embeds.0.description" in str(too_long.value)
    with pytest.raises(discord.HTTPException) as too_big:
        await channel.send(embeds=[discord.Embed(description="y" * 4000) for _ in range(2)])
    assert too_big.value.code == 50035
    assert fake.messages_in(TEXT) == []


async def test_file_upload_becomes_an_attachment(fake: FakeDiscord, bot: FakeBot) -> None:
    msg = await text_channel(bot).send("report", file=discord.File(io.BytesIO(b"12345"), "r.txt"))
    assert [(a.filename, a.size) for a in msg.attachments] == [("r.txt", 5)]
    assert fake.calls("POST")[-1].files == ["r.txt"]
    assert fake.messages_in(TEXT)[0]["attachments"][0]["filename"] == "r.txt"


async def test_missing_permissions_are_real_403s(fake: FakeDiscord, bot: FakeBot) -> None:
    with pytest.raises(discord.Forbidden) as no_send:
        await text_channel(bot, LOCKED).send("hi")
    assert no_send.value.code == 50013
    with pytest.raises(discord.Forbidden) as no_view:
        await text_channel(bot, HIDDEN).send("hi")
    assert no_view.value.code == 50001

    fake.update_role(GUILD, GUILD, permissions=0)  # @everyone loses everything
    await fake.wait_for(
        lambda: not text_channel(bot).permissions_for(text_channel(bot).guild.me).send_messages
    )
    with pytest.raises(discord.Forbidden):
        await text_channel(bot).send("hi")


async def test_unknown_routes_are_recorded(fake: FakeDiscord, bot: FakeBot) -> None:
    with pytest.raises(discord.NotFound) as exc:
        await text_channel(bot).create_invite()
    assert exc.value.code == 0
    assert [(r.method, r.path) for r in fake.unhandled] == [("POST", f"/channels/{TEXT}/invites")]


# ------------------------------------------------------------------------------ faults


async def test_429_is_waited_out_and_the_message_lands_once(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    fault = fake.fail_next("POST", f"/channels/{TEXT}/messages", 429, retry_after=0.3)
    started = time.monotonic()
    msg = await text_channel(bot).send("rate limited")
    assert time.monotonic() - started >= 0.3
    assert fault.hits == 1
    assert [m["id"] for m in fake.messages_in(TEXT)] == [str(msg.id)]
    posts = fake.calls("POST", f"/channels/{TEXT}/messages")
    assert [r.status for r in posts] == [429, 200]
    assert posts[0].json["nonce"] == posts[1].json["nonce"]


async def test_429s_on_two_channels_are_waited_out_independently(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    fake.fail_next("POST", "/channels/{channel_id}/messages", 429, retry_after=0.2, times=2)
    results = await asyncio.gather(text_channel(bot).send("a"), text_channel(bot, NEWS).send("b"))
    assert {m.content for m in results} == {"a", "b"}
    assert len(fake.messages_in(TEXT)) == len(fake.messages_in(NEWS)) == 1


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (403, 50013, discord.Forbidden),
        (403, 50001, discord.Forbidden),
        (404, 10003, discord.NotFound),
        (400, 50035, discord.HTTPException),
        (503, 0, discord.DiscordServerError),
    ],
)
async def test_injected_errors_surface_with_their_code(
    fake: FakeDiscord, bot: FakeBot, status: int, code: int, error: type[discord.HTTPException]
) -> None:
    fake.fail_next("POST", "/channels/{channel_id}/messages", status, code=code)
    with pytest.raises(error) as exc:
        await text_channel(bot).send("boom")
    assert type(exc.value) is error
    assert (exc.value.status, exc.value.code) == (status, code)
    assert fake.messages_in(TEXT) == []


async def test_lost_500_response_is_retried_and_deduplicated_by_nonce(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    # The message is stored but the reply is a 500: discord.py retries (after 1 s) with the
    # same nonce, and enforce_nonce makes the retry return the stored message.
    fake.fail_next("POST", f"/channels/{TEXT}/messages", 500, processed=True)
    msg = await text_channel(bot).send("exactly once")
    assert [m["id"] for m in fake.messages_in(TEXT)] == [str(msg.id)]
    assert fake.nonce_hits == 1


async def test_hung_message_create(fake: FakeDiscord, bot: FakeBot) -> None:
    created = fake.hang_next_message_create(TEXT)
    send = asyncio.create_task(text_channel(bot).send("hung"))
    message_id = await fake.wait_hung(timeout=2)
    assert created.is_set()
    await asyncio.sleep(0.1)
    assert not send.done()
    assert [m["id"] for m in fake.messages_in(TEXT)] == [str(message_id)]
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    fake.release_hung()
    history = [m.id async for m in text_channel(bot).history()]
    assert history == [message_id]


# ----------------------------------------------------------------------------- gateway


async def test_dropped_gateway_is_resumed_and_missed_events_replayed(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    assert await fake.drop_gateway() == 1
    assert not fake.connected
    fake.update_channel(TEXT, name="renamed-while-down")  # buffered in the session
    await fake.wait_ready()
    assert (fake.identify_count, fake.resume_count) == (1, 1)
    fake.update_channel(NEWS, name="renamed-after")
    await fake.wait_for(lambda: len(bot.events) >= 2, timeout=3)
    assert bot.events == [
        ("channel_update", "renamed-while-down"),
        ("channel_update", "renamed-after"),
    ]
    assert text_channel(bot).name == "renamed-while-down"
    assert bot.ready_count == 1


async def test_close_code_and_reconnect_op(fake: FakeDiscord, bot: FakeBot) -> None:
    await fake.drop_gateway(code=4000)
    await fake.wait_ready()
    await fake.send_reconnect()
    await fake.wait_for(lambda: fake.resume_count == 2, timeout=3)
    await fake.wait_ready()
    assert fake.identify_count == 1
    assert fake.gateway_close_codes == [4000]  # op 7: discord.py closes with 4000, then resumes


async def test_invalid_session_makes_the_client_identify_again(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    await fake.invalidate_session(resumable=False)
    await fake.wait_for(lambda: bot.ready_count == 2, timeout=3)
    assert (fake.identify_count, fake.resume_count) == (2, 0)
    assert fake.gateway_close_codes == [1000]

    await fake.drop_gateway(resumable=False)
    await fake.wait_for(lambda: bot.ready_count == 3, timeout=5)
    assert fake.gateway.rejected_resume_count == 1
    assert fake.identify_count == 3


async def test_guild_removal_is_dispatched(fake: FakeDiscord, bot: FakeBot) -> None:
    fake.remove_guild(GUILD)
    await fake.wait_for(lambda: ("guild_remove", GUILD) in bot.events, timeout=3)
    assert bot.get_guild(GUILD) is None


async def test_client_close_sends_a_close_frame(fake: FakeDiscord) -> None:
    client = FakeBot()
    task = await start(client, fake)
    await stop(client, task)
    await fake.wait_disconnected()
    # client.close() asks aiohttp for 1000, but its receive loop (poll_event) wakes first and
    # closes with 4000 (discord.py 2.7.1 with aiohttp 3.14), which keeps the session resumable.
    assert fake.gateway_close_codes == [4000]


# ------------------------------------------------------------------------ interactions


async def test_commands_are_synced_to_the_guild(fake: FakeDiscord, bot: FakeBot) -> None:
    assert [scope for scope, _ in fake.command_syncs] == [GUILD]
    names = {c["name"] for c in fake.command_syncs[0][1]}
    assert names == {"slow", "late", "topic", "newsadmin", "feedback"}
    newsadmin = fake.synced_command("newsadmin", GUILD)
    assert newsadmin is not None
    assert newsadmin["default_member_permissions"] == str(MANAGE_GUILD)
    assert fake.synced_command("ping") is None


async def test_slash_command_reply(fake: FakeDiscord, bot: FakeBot) -> None:
    rec = await fake.slash(GUILD, TEXT, BOB, "ping")  # never synced: the fake makes up an id
    assert rec.callback_type == 4
    assert rec.content == "pong"
    assert not rec.ephemeral
    stored = fake.messages_in(TEXT)
    assert [m["content"] for m in stored] == ["pong"]
    assert stored[0]["interaction_metadata"]["user"]["id"] == str(BOB)


async def test_deferred_ephemeral_command_with_followup(fake: FakeDiscord, bot: FakeBot) -> None:
    rec = await fake.slash(GUILD, TEXT, BOB, "slow")
    assert rec.deferred
    assert rec.ephemeral
    assert [m["content"] for m in rec.followups] == ["done"]
    assert rec.followups[0]["flags"] & 64
    assert rec.original is not None
    assert rec.original["content"] == "done"
    assert fake.messages_in(TEXT) == []  # ephemeral messages are not in the channel


async def test_subcommand_group_with_channel_option_and_permission_check(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    rec = await fake.slash(GUILD, TEXT, ALICE, "newsadmin publishing off", {"channel": NEWS})
    assert rec.content == f"off {NEWS} announcements"
    assert rec.ephemeral
    member = rec.payload["member"]
    assert int(member["permissions"]) & MANAGE_GUILD

    denied = await fake.slash(GUILD, TEXT, BOB, "newsadmin publishing off", {"channel": NEWS})
    assert denied.content == "denied"
    forced = await fake.slash(
        GUILD, TEXT, BOB, "newsadmin publishing off", {"channel": NEWS}, permissions=MANAGE_GUILD
    )
    assert forced.content.startswith("off ")

    # The synced schema catches mistakes in the test itself.
    with pytest.raises(ValueError, match="no option 'chanel'"):
        await fake.slash(GUILD, TEXT, ALICE, "newsadmin publishing off", {"chanel": NEWS})
    with pytest.raises(ValueError, match="required options"):
        await fake.slash(GUILD, TEXT, ALICE, "newsadmin publishing off")
    with pytest.raises(ValueError, match="no subcommand 'of'"):
        await fake.slash(GUILD, TEXT, ALICE, "newsadmin publishing of", {"channel": NEWS})


async def test_autocomplete_returns_choices(fake: FakeDiscord, bot: FakeBot) -> None:
    rec = await fake.autocomplete(GUILD, TEXT, BOB, "topic", {"name": "py"}, focused="name")
    assert rec.callback_type == 8
    assert rec.choices == [
        {"name": "python", "value": "python"},
        {"name": "pytest", "value": "pytest"},
    ]


async def test_persistent_dynamic_button_is_answered(fake: FakeDiscord, bot: FakeBot) -> None:
    view = discord.ui.View(timeout=None)
    view.add_item(RelatedButton("a42"))
    msg = await text_channel(bot).send("article", view=view)
    rec = await fake.click(msg.id, "related:a42", BOB)
    assert rec.content == "related a42"
    assert rec.ephemeral
    assert rec.payload["message"]["id"] == str(msg.id)
    with pytest.raises(ValueError, match="no component"):
        await fake.click(msg.id, "missing", BOB)


async def test_component_updates_its_message(fake: FakeDiscord, bot: FakeBot) -> None:
    msg = await text_channel(bot).send("controls", view=ControlView())
    toggled = await fake.click(msg.id, "control:toggle", BOB)
    assert toggled.callback_type == 7
    assert fake.messages_in(TEXT)[0]["content"] == "toggled"

    picked = await fake.click(msg.id, "control:pick", BOB, values=["b"])
    assert picked.callback_type == 6
    assert picked.content == "picked b"
    assert fake.messages_in(TEXT)[0]["content"] == "picked b"
    assert (
        fake.messages_in(TEXT)[0]["components"][0]["components"][0]["custom_id"] == "control:toggle"
    )


async def test_late_interaction_response_is_refused(fake: FakeDiscord, bot: FakeBot) -> None:
    fake.interaction_deadline = 0.2
    rec = await fake.slash(GUILD, TEXT, BOB, "late", wait_for="callback")
    assert not rec.responded
    assert [code for _, _, code in rec.rejected] == [10062]
    await fake.wait_for(lambda: bot.errors, timeout=2)
    assert isinstance(bot.errors[0], discord.NotFound)
    assert bot.errors[0].code == 10062


async def test_modal_is_shown_and_submitted(fake: FakeDiscord, bot: FakeBot) -> None:
    opened = await fake.slash(GUILD, TEXT, BOB, "feedback")
    assert opened.callback_type == 9
    assert opened.modal is not None
    assert opened.modal["title"] == "Feedback"
    submitted = await fake.submit_modal(
        GUILD, TEXT, BOB, opened.modal["custom_id"], {"feedback:text": "great"}
    )
    assert submitted.content == "thanks: great"
    assert submitted.ephemeral


# ------------------------------------------------------------------------------ misc


async def test_user_messages_and_raw_dispatch_reach_the_client(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    fake.user_message(TEXT, BOB, f"<@{fake.state.bot_id}> hello")  # mentions keep the content
    fake.user_message(TEXT, BOB, "no message content intent")  # arrives with content blanked
    raw = fake.state.message_payload(fake.state.channel(TEXT).messages[0]) | {"content": "raw"}
    await fake.dispatch("MESSAGE_CREATE", raw)
    await fake.wait_for(lambda: len(bot.events) == 3, timeout=3)
    assert bot.events == [
        ("message", f"<@{fake.state.bot_id}> hello"),
        ("message", ""),
        ("message", "raw"),
    ]


async def test_latency_and_request_log(fake: FakeDiscord, bot: FakeBot) -> None:
    fake.set_latency(0.2, path="/channels/{channel_id}/messages")
    started = time.monotonic()
    await text_channel(bot).send("slow network", allowed_mentions=discord.AllowedMentions.none())
    assert time.monotonic() - started >= 0.2
    request = fake.calls("POST")[-1]
    assert request.path == f"/channels/{TEXT}/messages"
    assert request.status == 200
    assert request.json["content"] == "slow network"
    messages = await fake.wait_for_messages(TEXT, 1)
    assert messages[0]["allowed_mentions"] == {"parse": []}


def test_permission_constants_match_discord_py() -> None:
    assert discord.Permissions.voice().value == VOICE_PERMISSIONS
    assert discord.Permissions.all_channel().value == CHANNEL_PERMISSIONS
    assert discord.Permissions.all().value & ~ALL_PERMISSIONS == 0


def test_launcher_needs_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(launch.API_ENV, raising=False)
    assert launch.main([]) == 2


STUB_BOT_MAIN = """
import asyncio

import discord


def main(argv):
    channel_id, token, mode = argv

    async def run():
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)

        @client.event
        async def on_ready():
            await client.get_channel(int(channel_id)).send(f"hello from a subprocess ({mode})")
            if mode == "close":
                await client.close()

        await client.start(token)

    asyncio.run(run())
    return 7
"""


async def start_stub_bot(
    fake: FakeDiscord, tmp_path: Path, mode: str
) -> asyncio.subprocess.Process:
    """Run a stub ``bot.__main__`` through the launcher, as the Newsdesk e2e tests run the bot."""
    stub = tmp_path / "bot"
    stub.mkdir()
    (stub / "__init__.py").write_text("")
    (stub / "__main__.py").write_text(textwrap.dedent(STUB_BOT_MAIN))
    env = os.environ | fake.env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])  # stub shadows bot/
    return await asyncio.create_subprocess_exec(
        *FakeDiscord.launch_command(str(TEXT), TOKEN, mode),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_launcher_runs_bot_main_against_the_fake(fake: FakeDiscord, tmp_path: Path) -> None:
    proc = await start_stub_bot(fake, tmp_path, "close")
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 7, stderr.decode()
    assert [m["content"] for m in fake.messages_in(TEXT)] == ["hello from a subprocess (close)"]
    assert fake.identify_count == 1
    assert fake.gateway_disconnects == [4000]


async def test_killed_bot_leaves_without_a_close_frame(fake: FakeDiscord, tmp_path: Path) -> None:
    proc = await start_stub_bot(fake, tmp_path, "stay")
    try:
        await fake.wait_for_messages(TEXT, 1, timeout=20)
        assert fake.connected
    finally:
        proc.kill()
        await proc.communicate()
    await fake.wait_disconnected()
    assert fake.gateway_disconnects == [None]
    assert fake.gateway_close_codes == []
