"""A fake Discord (REST API + gateway) on 127.0.0.1 for offline end-to-end tests of the bot.

The unmodified discord.py client talks to it once two class attributes point at it; the bot's
code never does this itself::

    async with FakeDiscord(heartbeat_interval_ms=500) as fake:
        fake.add_guild(GUILD, "News Guild")
        fake.add_channel(GUILD, NEWS, "news", type=5)             # announcement channel
        fake.add_role(GUILD, MOD, "mods", MANAGE_GUILD)
        fake.add_member(GUILD, ALICE, "alice", roles=[MOD])
        with patch_discord_py(fake):                              # Route.BASE, DEFAULT_GATEWAY
            client = MyBot(...)                                   # guild_ready_timeout small
            task = asyncio.create_task(client.start("any-token"))
            await fake.wait_ready()
            ...
            rec = await fake.slash(GUILD, NEWS, ALICE, "newsadmin publishing off",
                                   {"channel": NEWS})
            assert rec.ephemeral and "off" in rec.content
            await client.close()
            await task
        assert fake.gateway_disconnects == [4000]                 # a close frame was sent

discord.py facts that matter against the fake: ``on_ready`` comes ``guild_ready_timeout``
(default 2 s) after the last GUILD_CREATE; every IDENTIFY but the first waits 5 s in
``Client.before_identify_hook``; ``client.close()`` sends close code 4000, not 1000 (its receive
loop wins the race to close the socket), while a killed process sends no close frame at all
(``None`` in ``gateway_disconnects``).

For a bot run as a subprocess, start it with ``FakeDiscord.launch_command(*args)`` and
``env=os.environ | fake.env()``: ``tests/fakediscord/launch.py`` points discord.py at the fake
and calls ``bot.__main__.main``.

What a test can look at:

- ``fake.messages_in(channel_id)``: stored messages (payload dicts, oldest first, with the
  ``nonce``/``enforce_nonce``/``allowed_mentions`` that were sent); ``fake.message(id)``.
- ``fake.requests`` / ``fake.calls(method, path)``: every REST call; ``fake.unhandled``: calls
  to routes the fake does not implement (they get 404 and should normally stay empty).
- ``fake.command_syncs``, ``fake.synced_command(name)``; ``fake.interactions`` and the
  :class:`InteractionRecord` returned by ``slash``/``autocomplete``/``click``/``submit_modal``
  (``callback_type``, ``ephemeral``, ``deferred``, ``content``, ``original``, ``followups``,
  ``choices``, ``rejected`` for late or double responses).
- ``fake.identify_count``, ``fake.resume_count``, ``fake.gateway_close_codes``,
  ``fake.gateway_disconnects``.
- ``await fake.wait_for(predicate)``, ``wait_for_messages``, ``wait_ready``, ``wait_interaction``.

Faults: ``fail_next`` (429 with Retry-After and Via, 400/403/404/5xx in Discord's error shape,
optionally after the request took effect), ``hang_next_message_create`` + ``wait_hung`` +
``release_hung``, ``set_latency``, ``drop_gateway``, ``send_reconnect``,
``invalidate_session``, and state changes that dispatch gateway events (``remove_guild``,
``update_channel``, ``update_role``, ``update_member``, ``delete_channel``,
``set_guild_unavailable``...).

The fake enforces what Discord enforces and discord.py does not: message/embed/component
limits (400 50035), empty messages (50006), channel permissions of the bot (403 50001/50013),
nonce deduplication with ``enforce_nonce``, the 3 s interaction deadline (10062), a single
initial response (40060), crossposting only in announcement channels (50024), and the rules of
forum posts and threads (``tests/fakediscord/threads.py``: required and moderated tags, one
thread per message, the cap of active threads, no edits in archived or locked threads).
Forums: ``add_channel(..., type=FORUM_CHANNEL, tags=[...], flags=REQUIRE_TAG_FLAG)``,
``tag_id``, ``threads_in``, ``archive_thread``, ``remove_thread``, ``max_active_threads``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .faults import Fault
from .interactions import ChannelRef, InteractionRecord, RoleRef, UserRef
from .permissions import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    CREATE_PUBLIC_THREADS,
    DEFAULT_EVERYONE_PERMISSIONS,
    EMBED_LINKS,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Overwrite,
)
from .rest import RecordedRequest
from .server import DEFAULT_BOT_ID, DEFAULT_OWNER_ID, FakeDiscord
from .state import FORUM_CHANNEL, MEDIA_CHANNEL, NEWS_CHANNEL, REQUIRE_TAG_FLAG, TEXT_CHANNEL


@contextlib.contextmanager
def patch_discord_py(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST base URL and default gateway at ``fake``; restore them after."""
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "CREATE_PUBLIC_THREADS",
    "DEFAULT_BOT_ID",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DEFAULT_OWNER_ID",
    "EMBED_LINKS",
    "FORUM_CHANNEL",
    "MANAGE_GUILD",
    "MANAGE_MESSAGES",
    "MANAGE_THREADS",
    "MEDIA_CHANNEL",
    "NEWS_CHANNEL",
    "READ_MESSAGE_HISTORY",
    "REQUIRE_TAG_FLAG",
    "SEND_MESSAGES",
    "TEXT_CHANNEL",
    "VIEW_CHANNEL",
    "ChannelRef",
    "FakeDiscord",
    "Fault",
    "InteractionRecord",
    "Overwrite",
    "RecordedRequest",
    "RoleRef",
    "UserRef",
    "patch_discord_py",
]
