"""``FakeDiscord``: the fake's public face (lifecycle, builders, faults, waits, interactions).

The ``wait_*`` helpers and interaction helpers take a ``timeout`` on purpose (tests read better
than with ``asyncio.timeout`` blocks), hence the ASYNC109 exemption.
"""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from aiohttp import web

from .faults import DEFAULT_ERRORS, Fault, FaultPlan, Hang, compile_path_pattern
from .gateway import Gateway, GatewayConfig
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    CommandRegistry,
    InteractionFactory,
    InteractionRecord,
    OptionValue,
    Scope,
    WaitMode,
    component_data,
)
from .permissions import DEFAULT_EVERYONE_PERMISSIONS, Overwrite
from .rest import RecordedRequest, RestApi
from .state import (
    JSON,
    TEXT_CHANNEL,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    State,
    now_iso,
)
from .threads import ThreadsApi

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BOT_ID = 1_300_000_000_000_000_001
DEFAULT_OWNER_ID = 1_300_000_000_000_000_002

KNOWN_ERROR_MESSAGES: dict[int, str] = {
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10008: "Unknown Message",
    10062: "Unknown interaction",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50013: "Missing Permissions",
    50035: "Invalid Form Body",
}

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeDiscord:
    """A Discord REST API and gateway on 127.0.0.1 that an unmodified discord.py client talks to.

    See the package docstring (``tests/fakediscord/__init__.py``) for how tests use it.
    """

    def __init__(
        self,
        *,
        bot_id: int = DEFAULT_BOT_ID,
        application_id: int | None = None,
        bot_name: str = "Newsdesk",
        owner_id: int = DEFAULT_OWNER_ID,
        token: str | None = None,
        heartbeat_interval_ms: int = 41_250,
        nonce_window: float = 300.0,
        interaction_deadline: float | None = 3.0,
        enforce_permissions: bool = True,
        gateway_compression: bool = False,
        application_flags: int = 0,
        ratelimit_limit: int = 50,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """
        Args:
            token: if set, REST calls must carry ``Authorization: Bot <token>`` (else 401) and
                IDENTIFY/RESUME must use it (else close code 4004); None accepts any token.
            heartbeat_interval_ms: sent in HELLO; lower it to make heartbeats visible in tests.
            nonce_window: seconds during which ``enforce_nonce`` returns the earlier message.
            interaction_deadline: seconds within which the first interaction response must arrive
                (Discord: 3); later ones get 404 / 10062. None disables the check.
            enforce_permissions: answer 403 (50001/50013) when the bot lacks channel permissions.
            gateway_compression: send zlib-stream binary frames when the client asks for them.
            port: where to listen; 0 (the default) takes a free port.
        """
        self.state = State(
            bot_id=bot_id,
            bot_name=bot_name,
            application_id=application_id or bot_id,
            owner_id=owner_id,
        )
        self.token = token
        self.nonce_window = nonce_window
        self.interaction_deadline = interaction_deadline
        self.enforce_permissions = enforce_permissions
        self.application_flags = application_flags
        self.ratelimit_limit = ratelimit_limit
        self.host = host
        self.requested_port = port
        self.faults = FaultPlan()
        self.commands = CommandRegistry(self.state)
        self.gateway = Gateway(
            GatewayConfig(
                state=self.state,
                heartbeat_interval_ms=heartbeat_interval_ms,
                token=token,
                application_flags=application_flags,
                compression=gateway_compression,
                notify=self.notify,
            )
        )
        self.rest = RestApi(self)
        ThreadsApi(self.rest)
        self.max_active_threads = 1000
        """Discord's cap of active threads per server (beyond it: 160006)."""
        self._factory = InteractionFactory(self.state, self.commands)
        self.requests: list[RecordedRequest] = []
        """Every REST call received, in order (method, path relative to /api/v10, json, ...)."""
        self.unhandled: list[RecordedRequest] = []
        """REST calls to routes the fake does not implement (answered 404)."""
        self.interactions: list[InteractionRecord] = []
        self.nonce_hits = 0
        """How many message creates were answered with an earlier message because of the nonce."""
        self._interactions_by_id: dict[int, InteractionRecord] = {}
        self._interactions_by_token: dict[str, InteractionRecord] = {}
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        """Listen on a free port of ``host``; returns self."""
        if self._runner is not None:
            raise RuntimeError("FakeDiscord already started")
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.gateway.config.resume_url = self.gateway_url
        log.debug("fake Discord listening on %s", self.base_url)
        return self

    async def stop(self) -> None:
        """Release hung requests, drop websockets and stop listening. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.faults.release_all()
        await self.gateway.close_all()
        await runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.gateway.handle(request)
        return await self.rest.handle(request)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (wrap it in yarl.URL)."""
        return f"ws://{self.host}:{self.port}/"

    def env(self) -> dict[str, str]:
        """Environment for a subprocess started through ``tests.fakediscord.launch``."""
        pythonpath = os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        return {
            "FAKE_DISCORD_API": self.api_base,
            "FAKE_DISCORD_GATEWAY": self.gateway_url,
            "PYTHONPATH": pythonpath,
        }

    @staticmethod
    def launch_command(*args: str) -> list[str]:
        """``[python, -m, tests.fakediscord.launch, *args]``: run the bot against the fake."""
        return [sys.executable, "-m", "tests.fakediscord.launch", *args]

    def application_payload(self) -> JSON:
        state = self.state
        return {
            "id": str(state.application_id),
            "name": state.user(state.bot_id).name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": state.user_payload(state.owner_id),
            "team": None,
            "flags": self.application_flags,
            "tags": [],
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "terms_of_service_url": None,
            "privacy_policy_url": None,
            "custom_install_url": None,
            "approximate_guild_count": len(state.guilds),
            "bot": state.user_payload(state.bot_id),
            "integration_types_config": {"0": {}},
        }

    # ------------------------------------------------------------ notifications

    def notify(self) -> None:
        """Wake everything waiting in :meth:`wait_for` (called on every state change)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, *, what: str | None = None
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value.

        Checked on every change of the fake's state and every 50 ms (for client-side state).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"fake Discord: timed out after {timeout}s waiting for {what or predicate}"
                )
            # Also poll: predicates may look at the client's side, which does not notify us.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until a client identified (READY + GUILD_CREATEs sent) or resumed (RESUMED sent)."""
        await self.wait_for(lambda: self.connected, timeout, what="a gateway client to be ready")

    async def wait_disconnected(self, timeout: float = 5.0) -> None:
        await self.wait_for(
            lambda: not self.gateway.connections, timeout, what="gateway clients to go"
        )

    async def wait_for_messages(
        self, channel_id: int, n: int = 1, timeout: float = 5.0
    ) -> list[JSON]:
        """Wait until channel ``channel_id`` holds at least ``n`` messages; returns them all."""
        await self.wait_for(
            lambda: len(self.state.channel(channel_id).messages) >= n,
            timeout,
            what=f"{n} message(s) in channel {channel_id}",
        )
        return self.messages_in(channel_id)

    # ----------------------------------------------------------------- gateway

    @property
    def connected(self) -> bool:
        return self.gateway.connected

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        """Successful RESUMEs (a refused RESUME counts in ``gateway.rejected_resume_count``)."""
        return self.gateway.resume_count

    @property
    def gateway_close_codes(self) -> list[int]:
        """Close codes the *client* sent when closing the socket (1000: ``client.close()``)."""
        return self.gateway.close_codes

    @property
    def gateway_disconnects(self) -> list[int | None]:
        """Every connection the client ended: its close code, or None when it vanished without
        a close frame (the process was killed); connections the fake closed are not listed."""
        return self.gateway.disconnects

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send a dispatch event to every connected (or resumable) client, unfiltered."""
        await asyncio.gather(*self.gateway.dispatch_nowait(event, data))

    def _emit(self, event: str, data: JSON, *, guild_id: int | None = None) -> None:
        self.gateway.dispatch_nowait(event, data, filtered=True, guild_id=guild_id)
        self.notify()

    def emit_message(self, event: str, msg: FakeMessage) -> None:
        """Dispatch MESSAGE_CREATE/UPDATE/DELETE for a (non-ephemeral) message."""
        if msg.ephemeral:
            self.notify()
            return
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
        else:
            data = self.state.message_event_payload(msg)
        self._emit(event, data, guild_id=msg.guild_id)

    async def drop_gateway(self, code: int | None = None, *, resumable: bool = True) -> int:
        """Close the client's websocket (abruptly if ``code`` is None); it reconnects and RESUMEs.

        With ``resumable=False`` the session is forgotten, so the RESUME gets op 9 and the client
        identifies again. Returns the number of connections dropped.
        """
        return await self.gateway.drop(code, resumable=resumable)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes with 4000 and RESUMEs."""
        await asyncio.gather(*self.gateway.send_reconnect())

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9: discord.py closes (1000, or 4000 if resumable), then identifies or RESUMEs."""
        await asyncio.gather(*self.gateway.invalidate_session(resumable=resumable))

    # ------------------------------------------------------------------ builders

    def add_guild(
        self,
        guild_id: int,
        name: str = "Test Guild",
        owner_id: int | None = None,
        *,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int | None = None,
        locale: str = "en-US",
        dispatch: bool = True,
    ) -> FakeGuild:
        """Add a guild with its @everyone role (id == guild id), the owner and the bot as members.

        ``bot_permissions`` adds the managed bot role Discord creates on invite.
        """
        state = self.state
        owner = owner_id if owner_id is not None else state.owner_id
        guild = FakeGuild(guild_id, name, owner, preferred_locale=locale)
        guild.roles[guild_id] = FakeRole(guild_id, guild_id, "@everyone", everyone_permissions)
        state.ensure_user(owner)
        guild.members[owner] = FakeMember(owner)
        bot_roles = []
        if bot_permissions is not None:
            role = FakeRole(
                state.snowflakes.next(),
                guild_id,
                state.user(state.bot_id).name,
                bot_permissions,
                position=1,
                managed=True,
                bot_id=state.bot_id,
            )
            guild.roles[role.id] = role
            bot_roles.append(role.id)
        guild.members[state.bot_id] = FakeMember(state.bot_id, bot_roles)
        state.guilds[guild_id] = guild
        if dispatch:
            self._emit("GUILD_CREATE", state.guild_create_payload(guild), guild_id=guild_id)
        return guild

    def remove_guild(self, guild_id: int, *, dispatch: bool = True) -> None:
        """The bot leaves (or is kicked from) the guild: GUILD_DELETE without ``unavailable``."""
        guild = self.state.guilds.pop(guild_id)
        for channel_id in guild.channels:
            self.state.channels.pop(channel_id, None)
        if dispatch:
            self._emit("GUILD_DELETE", {"id": str(guild_id)}, guild_id=guild_id)

    def set_guild_unavailable(self, guild_id: int, unavailable: bool = True) -> None:
        """Outage: GUILD_DELETE ``unavailable: true``; with False, GUILD_CREATE (it is back)."""
        guild = self.state.guild(guild_id)
        if unavailable:
            self._emit(
                "GUILD_DELETE", {"id": str(guild_id), "unavailable": True}, guild_id=guild_id
            )
        else:
            self._emit("GUILD_CREATE", self.state.guild_create_payload(guild), guild_id=guild_id)

    def add_channel(
        self,
        guild_id: int,
        channel_id: int,
        name: str,
        type: int = TEXT_CHANNEL,
        overwrites: Iterable[Overwrite | JSON] | None = None,
        *,
        topic: str | None = None,
        parent_id: int | None = None,
        tags: Iterable[str | tuple[str, bool]] = (),
        flags: int = 0,
        dispatch: bool = True,
    ) -> FakeChannel:
        """Add a channel (0 text, 5 announcement, 4 category, 2 voice, 15 forum, 16 media) with
        its overwrites; a forum's ``tags`` are names or (name, moderated) and get fresh ids,
        ``flags`` 16 (REQUIRE_TAG) makes it require one."""
        guild = self.state.guild(guild_id)
        channel = FakeChannel(
            channel_id,
            guild_id,
            name,
            type=type,
            position=len(guild.channels),
            overwrites=[Overwrite.coerce(o) for o in overwrites or []],
            topic=topic,
            parent_id=parent_id,
            flags=flags,
            available_tags=[self._tag(t) for t in tags],
        )
        guild.channels[channel_id] = channel
        self.state.channels[channel_id] = channel
        if dispatch:
            self._emit("CHANNEL_CREATE", channel.payload(), guild_id=guild_id)
        return channel

    def _tag(self, tag: str | tuple[str, bool]) -> JSON:
        name, moderated = (tag, False) if isinstance(tag, str) else tag
        return {
            "id": str(self.state.snowflakes.next()),
            "name": name,
            "moderated": moderated,
            "emoji_id": None,
            "emoji_name": None,
        }

    def tag_id(self, forum_id: int, name: str) -> int:
        """The id of a forum's tag, by name."""
        tags = self.state.channel(forum_id).available_tags
        return next(int(t["id"]) for t in tags if t["name"] == name)

    def threads_in(self, channel_id: int, *, archived: bool | None = None) -> list[JSON]:
        """Threads (forum posts, or threads started on messages) whose parent is the channel,
        oldest first, as channel payloads plus ``starter``: the starter message of a forum
        post (None for a thread on a message, or when it was deleted)."""
        out = []
        for c in self.state.channels.values():
            if c.thread is None or c.parent_id != channel_id:
                continue
            if archived is not None and c.thread.archived != archived:
                continue
            first = c.messages[0] if c.messages and c.messages[0].id == c.id else None
            starter = None if first is None else self._message_record(first)
            out.append(c.payload() | {"starter": starter})
        return sorted(out, key=lambda t: int(t["id"]))

    def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """Discord archives an idle thread (a moderator may also lock it): THREAD_UPDATE."""
        channel = self.state.channel(thread_id)
        assert channel.thread is not None, f"{thread_id} is not a thread"
        channel.thread.archived = True
        channel.thread.locked = locked
        channel.thread.archive_timestamp = now_iso()
        self._emit("THREAD_UPDATE", channel.payload(), guild_id=channel.guild_id)

    def remove_thread(self, thread_id: int, *, dispatch: bool = True) -> None:
        """A thread (a forum post) is deleted, with its messages: THREAD_DELETE."""
        channel = self.state.channel(thread_id)
        for msg in list(channel.messages):
            self.state.delete_message(msg)
        del self.state.channels[thread_id]
        self.state.guild(channel.guild_id).channels.pop(thread_id, None)
        if dispatch:
            data = {
                "id": str(thread_id),
                "guild_id": str(channel.guild_id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
            self._emit("THREAD_DELETE", data, guild_id=channel.guild_id)

    def update_channel(
        self,
        channel_id: int,
        *,
        name: str | None = None,
        type: int | None = None,
        overwrites: Iterable[Overwrite | JSON] | None = None,
        topic: str | None = None,
        dispatch: bool = True,
    ) -> FakeChannel:
        """Change a channel (only the given fields) and dispatch CHANNEL_UPDATE."""
        channel = self.state.channel(channel_id)
        if name is not None:
            channel.name = name
        if type is not None:
            channel.type = type
        if overwrites is not None:
            channel.overwrites = [Overwrite.coerce(o) for o in overwrites]
        if topic is not None:
            channel.topic = topic
        if dispatch:
            self._emit("CHANNEL_UPDATE", channel.payload(), guild_id=channel.guild_id)
        return channel

    def delete_channel(self, channel_id: int, *, dispatch: bool = True) -> None:
        channel = self.state.channels.pop(channel_id)
        self.state.guild(channel.guild_id).channels.pop(channel_id, None)
        if dispatch:
            self._emit("CHANNEL_DELETE", channel.payload(), guild_id=channel.guild_id)

    def add_role(
        self,
        guild_id: int,
        role_id: int,
        name: str,
        permissions: int,
        *,
        mentionable: bool = False,
        dispatch: bool = True,
    ) -> FakeRole:
        guild = self.state.guild(guild_id)
        role = FakeRole(
            role_id, guild_id, name, permissions, position=len(guild.roles), mentionable=mentionable
        )
        guild.roles[role_id] = role
        if dispatch:
            self._emit(
                "GUILD_ROLE_CREATE",
                {"guild_id": str(guild_id), "role": role.payload()},
                guild_id=guild_id,
            )
        return role

    def update_role(
        self,
        guild_id: int,
        role_id: int,
        *,
        permissions: int | None = None,
        name: str | None = None,
        dispatch: bool = True,
    ) -> FakeRole:
        """Change a role (the @everyone role has the guild's id) and dispatch GUILD_ROLE_UPDATE."""
        role = self.state.guild(guild_id).roles[role_id]
        if permissions is not None:
            role.permissions = permissions
        if name is not None:
            role.name = name
        if dispatch:
            self._emit(
                "GUILD_ROLE_UPDATE",
                {"guild_id": str(guild_id), "role": role.payload()},
                guild_id=guild_id,
            )
        return role

    def delete_role(self, guild_id: int, role_id: int, *, dispatch: bool = True) -> None:
        guild = self.state.guild(guild_id)
        del guild.roles[role_id]
        for member in guild.members.values():
            if role_id in member.role_ids:
                member.role_ids.remove(role_id)
        if dispatch:
            data = {"guild_id": str(guild_id), "role_id": str(role_id)}
            self._emit("GUILD_ROLE_DELETE", data, guild_id=guild_id)

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        name: str | None = None,
        roles: Iterable[int] = (),
        *,
        bot: bool = False,
        dispatch: bool = True,
    ) -> FakeMember:
        """Add a user (created if new) to a guild with role ids (@everyone is implicit)."""
        guild = self.state.guild(guild_id)
        self.state.ensure_user(user_id, name, bot=bot)
        role_ids = list(roles)
        unknown = [r for r in role_ids if r not in guild.roles]
        if unknown:
            raise KeyError(f"guild {guild_id} has no roles {unknown}: add_role() first")
        member = guild.members[user_id] = FakeMember(user_id, role_ids)
        if dispatch:
            data = self.state.member_payload(guild, user_id) | {"guild_id": str(guild_id)}
            self._emit("GUILD_MEMBER_ADD", data, guild_id=guild_id)
        return member

    def update_member(
        self, guild_id: int, user_id: int, *, roles: Iterable[int], dispatch: bool = True
    ) -> FakeMember:
        """Replace a member's roles (works for the bot itself) and dispatch GUILD_MEMBER_UPDATE."""
        guild = self.state.guild(guild_id)
        member = guild.members[user_id]
        member.role_ids = list(roles)
        if dispatch:
            data = self.state.member_payload(guild, user_id) | {"guild_id": str(guild_id)}
            if user_id == self.state.bot_id:
                # Discord sends the bot its own member updates whatever the intents.
                self.gateway.dispatch_nowait("GUILD_MEMBER_UPDATE", data, guild_id=guild_id)
                self.notify()
            else:
                self._emit("GUILD_MEMBER_UPDATE", data, guild_id=guild_id)
        return member

    def remove_member(self, guild_id: int, user_id: int, *, dispatch: bool = True) -> None:
        if user_id == self.state.bot_id:
            self.remove_guild(guild_id, dispatch=dispatch)
            return
        guild = self.state.guild(guild_id)
        del guild.members[user_id]
        if dispatch:
            data = {"guild_id": str(guild_id), "user": self.state.user_payload(user_id)}
            self._emit("GUILD_MEMBER_REMOVE", data, guild_id=guild_id)

    def user_message(
        self,
        channel_id: int,
        author_id: int,
        content: str = "",
        *,
        embeds: list[JSON] | None = None,
        components: list[JSON] | None = None,
        dispatch: bool = True,
    ) -> JSON:
        """Store a message posted by a (non-bot) member and dispatch MESSAGE_CREATE."""
        channel = self.state.channel(channel_id)
        body = {"content": content, "embeds": embeds or [], "components": components or []}
        msg = self.state.new_message(channel, author_id, body)
        if dispatch:
            self.emit_message("MESSAGE_CREATE", msg)
        return self._message_record(msg)

    def permissions_in(self, channel_id: int, user_id: int | None = None) -> int:
        """Permissions of a member (default: the bot) in a channel, as the fake computes them."""
        user = self.state.bot_id if user_id is None else user_id
        return self.state.permissions_in(self.state.channel(channel_id), user)

    # --------------------------------------------------------------- recording

    def _message_record(self, msg: FakeMessage) -> JSON:
        return self.state.message_payload(msg) | {
            "nonce": msg.nonce,
            "enforce_nonce": msg.enforce_nonce,
            "allowed_mentions": msg.allowed_mentions,
        }

    def delete_message(self, message_id: int) -> None:
        """Someone (a moderator) deletes a message: MESSAGE_DELETE."""
        msg = self.state.messages[message_id]
        self.state.delete_message(msg)
        self.emit_message("MESSAGE_DELETE", msg)

    def messages_in(
        self, channel_id: int, *, include_interaction_responses: bool = True
    ) -> list[JSON]:
        """The channel's live messages, oldest first, as message payloads plus ``nonce``,
        ``enforce_nonce`` and ``allowed_mentions`` as sent (ephemeral ones are never here)."""
        return [
            self._message_record(m)
            for m in self.state.channel(channel_id).messages
            if include_interaction_responses or m.interaction_id is None
        ]

    def message(self, message_id: int) -> JSON | None:
        """Any message the fake knows (deleted and ephemeral ones too), or None."""
        msg = self.state.messages.get(message_id)
        return None if msg is None else self._message_record(msg) | {"deleted": msg.deleted}

    def calls(
        self, method: str | None = None, path: str | re.Pattern[str] | None = None
    ) -> list[RecordedRequest]:
        """Recorded REST calls filtered by method and path pattern (see :meth:`fail_next`)."""
        pattern = None if path is None else compile_path_pattern(path)
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.fullmatch(r.path))
        ]

    @property
    def command_syncs(self) -> list[tuple[Scope, list[JSON]]]:
        """Every bulk overwrite of application commands: ("global" or guild id, payload)."""
        return self.commands.syncs

    def expire_nonces(self) -> None:
        """Forget every nonce, as if the enforce_nonce window had passed."""
        self.rest.expire_nonces()

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str | None,
        path: str | re.Pattern[str],
        status: int,
        *,
        code: int | None = None,
        message: str | None = None,
        times: int = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
        processed: bool = False,
        errors: JSON | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching requests with an error instead of handling them.

        ``path`` is a regex, a concrete path (``/channels/123/messages``) or a template
        (``/channels/{channel_id}/messages``) matched against the path after ``/api/v10``;
        ``method`` None matches any method. 429 replies carry ``retry_after``, ``Retry-After``,
        ``X-RateLimit-Scope`` and ``Via`` (so discord.py waits and retries rather than treating
        it as a Cloudflare ban). With ``processed=True`` the request takes effect first (e.g.
        the message is stored) and then the error is returned: a lost response.
        Returns the :class:`Fault`; its ``hits`` count how often it fired.
        """
        default_code, default_message = DEFAULT_ERRORS.get(status, (0, f"{status}: Error"))
        if code is not None and message is None:
            message = KNOWN_ERROR_MESSAGES.get(code, default_message)
        fault = Fault(
            method=None if method is None else method.upper(),
            pattern=compile_path_pattern(path),
            status=status,
            code=default_code if code is None else code,
            message=message or default_message,
            times=times,
            retry_after=retry_after,
            is_global=is_global,
            processed=processed,
            errors=errors,
        )
        return self.faults.add(fault)

    def hang_next_message_create(self, channel_id: int) -> asyncio.Event:
        """The next POST to the channel's messages (or, in a forum, the next post created
        there) stores the message, then never answers.

        Returns an event set once the message exists (kill the bot then). The request stays
        open until :meth:`release_hung` or :meth:`stop`.
        """
        hang = Hang(channel_id)
        self.faults.hangs.append(hang)
        return hang.created

    async def wait_hung(self, timeout: float = 5.0) -> int:
        """Wait until a hung message create stored its message; returns the message id."""
        return await self.wait_for(
            lambda: next((h.message_id for h in self.faults.hangs if h.message_id is not None), 0),
            timeout,
            what="a hung message create",
        )

    def release_hung(self) -> None:
        """Let every held request answer (normally, 200 with the message)."""
        self.faults.release_all()

    def set_latency(self, seconds: float, path: str | re.Pattern[str] | None = None) -> None:
        """Delay every REST reply (or those whose path matches) by ``seconds``."""
        self.faults.latency = seconds
        self.faults.latency_pattern = None if path is None else compile_path_pattern(path)

    async def faults_delay(self, path: str) -> None:
        pattern = self.faults.latency_pattern
        if self.faults.latency > 0 and (pattern is None or pattern.fullmatch(path)):
            await asyncio.sleep(self.faults.latency)

    def clear_faults(self) -> None:
        """Drop pending faults, release hung requests and remove latency."""
        self.faults.clear()

    # ------------------------------------------------------------ interactions

    def interaction(self, interaction_id: int) -> InteractionRecord | None:
        return self._interactions_by_id.get(interaction_id)

    def interaction_by_token(self, token: str) -> InteractionRecord | None:
        return self._interactions_by_token.get(token)

    async def interact(
        self,
        kind: int,
        guild_id: int,
        channel_id: int,
        user_id: int,
        data: JSON,
        *,
        message: FakeMessage | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
        wait_for: WaitMode = "final",
        followups: int = 1,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Dispatch INTERACTION_CREATE with ``data`` and wait for the bot's answer (``wait_for``).

        ``permissions`` overrides the member's computed channel permissions (``permissions``).
        ``wait_for``: "none" (return at once), "callback" (initial response or its refusal),
        "followup" (``followups`` follow-ups), "final" (callback, and for a deferred response
        the edit or follow-up that fills it in). Raises TimeoutError if the bot does not get there.
        """
        if not self.connected:
            raise RuntimeError(
                "no client is connected to the fake gateway (await fake.wait_ready())"
            )
        interaction_id, token, payload = self._factory.base(
            kind, guild_id, channel_id, user_id, permissions=permissions, locale=locale
        )
        payload["data"] = data
        if message is not None:
            payload["message"] = self.state.message_payload(message)
        loop = asyncio.get_running_loop()
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            payload=payload,
            created_at=loop.time(),
            state=self.state,
            component_message_id=None if message is None else message.id,
        )
        self.interactions.append(record)
        self._interactions_by_id[interaction_id] = record
        self._interactions_by_token[token] = record
        await asyncio.gather(
            *self.gateway.dispatch_nowait("INTERACTION_CREATE", payload, guild_id=guild_id)
        )
        record.created_at = loop.time()
        await self.wait_interaction(record, wait_for, followups=followups, timeout=timeout)
        return record

    async def wait_interaction(
        self,
        record: InteractionRecord,
        wait_for: WaitMode = "final",
        *,
        followups: int = 1,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Wait until the bot's answer to ``record`` reached ``wait_for`` (see :meth:`interact`)."""
        await self.wait_for(
            lambda: record.reached(wait_for, followups),
            timeout,
            what=(
                f"the bot to answer interaction {record.id} (wait_for={wait_for!r}); "
                f"callbacks={record.callbacks} rejected={record.rejected}"
            ),
        )
        return record

    async def slash(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, OptionValue] | None = None,
        *,
        permissions: int | None = None,
        locale: str = "en-US",
        wait_for: WaitMode = "final",
        followups: int = 1,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Invoke a slash command; ``name`` may be a path: "newsadmin publishing off".

        ``options`` maps option names of the (sub)command to values; channel/role/user options
        take ids (or ``ChannelRef``/``RoleRef``/``UserRef`` when the command was never synced).
        """
        data = self._factory.command_data(guild_id, channel_id, user_id, name, options or {})
        return await self.interact(
            APPLICATION_COMMAND,
            guild_id,
            channel_id,
            user_id,
            data,
            permissions=permissions,
            locale=locale,
            wait_for=wait_for,
            followups=followups,
            timeout=timeout,
        )

    async def autocomplete(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, OptionValue],
        focused: str,
        *,
        permissions: int | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Ask for autocomplete of option ``focused`` (its value is what the user typed so far);
        the bot's answer is in ``record.choices``."""
        data = self._factory.command_data(
            guild_id, channel_id, user_id, name, options, focused=focused
        )
        return await self.interact(
            AUTOCOMPLETE,
            guild_id,
            channel_id,
            user_id,
            data,
            permissions=permissions,
            locale=locale,
            wait_for="callback",
            timeout=timeout,
        )

    async def click(
        self,
        message_id: int,
        custom_id: str,
        user_id: int,
        *,
        values: list[str] | None = None,
        component_type: int | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
        wait_for: WaitMode = "final",
        followups: int = 1,
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Click a button (or pick ``values`` in a select) on a message the fake stored."""
        msg = self.state.messages.get(message_id)
        if msg is None or msg.deleted or msg.guild_id is None:
            raise KeyError(f"fake Discord has no live guild message {message_id}")
        data = component_data(msg, custom_id, values=values, component_type=component_type)
        return await self.interact(
            MESSAGE_COMPONENT,
            msg.guild_id,
            msg.channel_id,
            user_id,
            data,
            message=msg,
            permissions=permissions,
            locale=locale,
            wait_for=wait_for,
            followups=followups,
            timeout=timeout,
        )

    async def submit_modal(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        custom_id: str,
        fields: Mapping[str, str],
        *,
        permissions: int | None = None,
        wait_for: WaitMode = "final",
        timeout: float = 5.0,
    ) -> InteractionRecord:
        """Submit a modal: ``fields`` maps text input custom_ids to the values typed."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": cid, "value": value}]}
            for cid, value in fields.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return await self.interact(
            MODAL_SUBMIT,
            guild_id,
            channel_id,
            user_id,
            data,
            permissions=permissions,
            wait_for=wait_for,
            timeout=timeout,
        )

    def synced_command(self, name: str, guild_id: int | None = None) -> JSON | None:
        """The stored payload of a synced command, as Discord echoes it (guild shadows global)."""
        return self.commands.find(name, guild_id)[0]

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return (
            f"<FakeDiscord {where} guilds={len(self.state.guilds)} requests={len(self.requests)}>"
        )


__all__ = ["DEFAULT_BOT_ID", "DEFAULT_OWNER_ID", "FakeDiscord"]
