"""In-memory Discord state of the fake server, and the JSON payloads discord.py parses from it.

Everything here is synchronous and does no I/O: the REST handlers and the gateway read and change
this state, then send the payloads built by :class:`State`.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .permissions import (
    DEFAULT_EVERYONE_PERMISSIONS,
    VOICE_PERMISSIONS,
    Overwrite,
    base_permissions,
    channel_permissions,
)

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000

TEXT_CHANNEL = 0
VOICE_CHANNEL = 2
CATEGORY_CHANNEL = 4
NEWS_CHANNEL = 5
NEWS_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM_CHANNEL = 15
MEDIA_CHANNEL = 16
THREAD_TYPES = (NEWS_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
FORUM_TYPES = (FORUM_CHANNEL, MEDIA_CHANNEL)
REQUIRE_TAG_FLAG = 1 << 4
HAS_THREAD_FLAG = 1 << 5

EPHEMERAL_FLAG = 1 << 6
LOADING_FLAG = 1 << 7
CROSSPOSTED_FLAG = 1 << 0


class SnowflakeFactory:
    """Snowflakes like Discord's: ``(ms since the Discord epoch << 22) | increment``.

    Ids strictly increase, so ``before=``/``after=`` pagination and ``history(after=datetime)``
    behave as against the real API.
    """

    def __init__(self) -> None:
        self._last = 0
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (next(self._counter) & 0xFFF)
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


def snowflake_iso(snowflake: int) -> str:
    """The ISO 8601 timestamp encoded in a snowflake (what Discord puts in ``timestamp``)."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakeUser:
    id: int
    name: str
    bot: bool = False

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None
    mentionable: bool = False
    hoist: bool = False
    color: int = 0

    def payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    nonce: str | int | None = None
    enforce_nonce: bool = False
    allowed_mentions: JSON | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    type: int = 0
    edited_at: str | None = None
    pinned: bool = False
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: JSON | None = None
    message_reference: JSON | None = None
    interaction_id: int | None = None
    """Set for messages created through an interaction response or follow-up."""
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL_FLAG)

    @property
    def crossposted(self) -> bool:
        return bool(self.flags & CROSSPOSTED_FLAG)


@dataclass
class ThreadMeta:
    """What a thread channel has on top of a channel (Discord's ``thread_metadata`` and more)."""

    owner_id: int
    auto_archive_duration: int = 1440
    archived: bool = False
    locked: bool = False
    archive_timestamp: str = field(default_factory=now_iso)
    create_timestamp: str = field(default_factory=now_iso)
    applied_tags: list[int] = field(default_factory=list)

    def payload(self) -> JSON:
        return {
            "archived": self.archived,
            "auto_archive_duration": self.auto_archive_duration,
            "archive_timestamp": self.archive_timestamp,
            "locked": self.locked,
            "create_timestamp": self.create_timestamp,
        }


@dataclass
class FakeChannel:
    id: int
    guild_id: int
    name: str
    type: int = TEXT_CHANNEL
    position: int = 0
    overwrites: list[Overwrite] = field(default_factory=list)
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    messages: list[FakeMessage] = field(default_factory=list)
    """Live (not deleted) messages, oldest first."""
    flags: int = 0
    available_tags: list[JSON] = field(default_factory=list)
    """Forum and media channels: ``{"id", "name", "moderated", "emoji_id", "emoji_name"}``."""
    thread: ThreadMeta | None = None
    """Set for thread channels (forum posts and threads started on a message)."""
    last_thread_id: int | None = None

    @property
    def last_message_id(self) -> int | None:
        if self.type in FORUM_TYPES:
            return self.last_thread_id
        return self.messages[-1].id if self.messages else None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [ow.to_payload() for ow in self.overwrites],
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "nsfw": self.nsfw,
            "flags": self.flags,
        }
        if self.thread is not None:
            last = self.last_message_id
            return data | {
                "owner_id": str(self.thread.owner_id),
                "last_message_id": None if last is None else str(last),
                "rate_limit_per_user": self.rate_limit_per_user,
                "message_count": len(self.messages),
                "total_message_sent": len(self.messages),
                "member_count": 1,
                "thread_metadata": self.thread.payload(),
                "applied_tags": [str(t) for t in self.thread.applied_tags],
            }
        if self.type in (TEXT_CHANNEL, NEWS_CHANNEL, *FORUM_TYPES):
            last = self.last_message_id
            data |= {
                "topic": self.topic,
                "last_message_id": None if last is None else str(last),
                "rate_limit_per_user": self.rate_limit_per_user,
                "default_auto_archive_duration": 1440,
                "default_thread_rate_limit_per_user": 0,
            }
        if self.type in FORUM_TYPES:
            data |= {
                "available_tags": [dict(t) for t in self.available_tags],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
            }
        elif self.type == VOICE_CHANNEL:
            data |= {"bitrate": 64000, "user_limit": 0, "rtc_region": None}
        return data


@dataclass
class FakeMember:
    user_id: int
    role_ids: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=now_iso)
    nick: str | None = None


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: str = field(default_factory=now_iso)
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


class State:
    """Users, guilds, channels, roles, members and messages, plus their payload builders."""

    def __init__(self, *, bot_id: int, bot_name: str, application_id: int, owner_id: int) -> None:
        self.snowflakes = SnowflakeFactory()
        self.bot_id = bot_id
        self.application_id = application_id
        self.owner_id = owner_id
        self.users: dict[int, FakeUser] = {
            bot_id: FakeUser(bot_id, bot_name, bot=True),
            owner_id: FakeUser(owner_id, "owner"),
        }
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        """Every message ever created, by id (deleted ones and ephemeral ones included)."""

    # ----------------------------------------------------------------- lookups

    def guild(self, guild_id: int) -> FakeGuild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise KeyError(f"fake Discord has no guild {guild_id}") from None

    def channel(self, channel_id: int) -> FakeChannel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise KeyError(f"fake Discord has no channel {channel_id}") from None

    def user(self, user_id: int) -> FakeUser:
        try:
            return self.users[user_id]
        except KeyError:
            raise KeyError(f"fake Discord has no user {user_id}") from None

    def ensure_user(self, user_id: int, name: str | None = None, *, bot: bool = False) -> FakeUser:
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = FakeUser(user_id, name or f"user{user_id}", bot=bot)
        elif name is not None:
            user.name = name
        return user

    # ---------------------------------------------------------- permissions

    def guild_permissions(self, guild: FakeGuild, user_id: int) -> int:
        member = guild.members.get(user_id)
        return base_permissions(
            guild_id=guild.id,
            owner_id=guild.owner_id,
            user_id=user_id,
            member_role_ids=member.role_ids if member else [],
            role_permissions={rid: r.permissions for rid, r in guild.roles.items()},
        )

    def permissions_in(self, channel: FakeChannel, user_id: int) -> int:
        """What ``channel.permissions_for(member)`` says: Discord's resolution, without voice
        permissions in text and announcement channels (as discord.py strips them)."""
        if channel.is_thread and channel.parent_id in self.channels:
            return self.permissions_in(self.channels[channel.parent_id], user_id)
        guild = self.guild(channel.guild_id)
        if user_id not in guild.members:
            return 0
        base = self.guild_permissions(guild, user_id)
        if channel.type in (TEXT_CHANNEL, NEWS_CHANNEL, *FORUM_TYPES):
            base &= ~VOICE_PERMISSIONS
        return channel_permissions(
            base=base,
            guild_id=guild.id,
            user_id=user_id,
            member_role_ids=guild.members[user_id].role_ids,
            overwrites=channel.overwrites,
        )

    # ------------------------------------------------------------- payloads

    def user_payload(self, user_id: int) -> JSON:
        return self.ensure_user(user_id).payload()

    def bot_user_payload(self) -> JSON:
        return self.user(self.bot_id).payload() | {
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
        }

    def member_payload(
        self,
        guild: FakeGuild,
        user_id: int,
        *,
        with_user: bool = True,
        permissions: int | None = None,
    ) -> JSON:
        member = guild.members[user_id]
        data: JSON = {
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in member.role_ids],
            "joined_at": member.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user_payload(user_id)
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def guild_payload(self, guild: FakeGuild) -> JSON:
        """The guild object of ``GET /guilds/{id}`` (no channels or members)."""
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": guild.preferred_locale,
            "features": list(guild.features),
            "roles": [r.payload() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "max_members": 500000,
            "max_video_channel_users": 25,
            "widget_enabled": False,
        }

    def guild_create_payload(self, guild: FakeGuild) -> JSON:
        """The full GUILD_CREATE payload: channels, roles and every member."""
        members = list(guild.members)
        return self.guild_payload(guild) | {
            "unavailable": False,
            "large": False,
            "joined_at": guild.joined_at,
            "member_count": len(members),
            "members": [self.member_payload(guild, uid) for uid in members],
            "channels": [
                {k: v for k, v in c.payload().items() if k != "guild_id"}
                for c in guild.channels.values()
                if not c.is_thread
            ],
            "threads": [
                c.payload()
                for c in guild.channels.values()
                if c.thread is not None and not c.thread.archived
            ],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def message_payload(self, msg: FakeMessage, *, include_nonce: bool = False) -> JSON:
        data: JSON = {
            "id": str(msg.id),
            "type": msg.type,
            "channel_id": str(msg.channel_id),
            "author": self.user_payload(msg.author_id),
            "content": msg.content,
            "timestamp": snowflake_iso(msg.id),
            "edited_timestamp": msg.edited_at,
            "tts": msg.tts,
            "mention_everyone": msg.mention_everyone,
            "mentions": [self.user_payload(uid) for uid in msg.mention_ids],
            "mention_roles": [str(r) for r in msg.mention_role_ids],
            "attachments": [dict(a) for a in msg.attachments],
            "embeds": [dict(e) for e in msg.embeds],
            "components": [dict(c) for c in msg.components],
            "reactions": [],
            "pinned": msg.pinned,
            "flags": msg.flags,
        }
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
        if msg.webhook_id is not None:
            data["webhook_id"] = str(msg.webhook_id)
        if msg.application_id is not None:
            data["application_id"] = str(msg.application_id)
        if msg.interaction_metadata is not None:
            data["interaction_metadata"] = dict(msg.interaction_metadata)
        if msg.message_reference is not None:
            data["message_reference"] = dict(msg.message_reference)
        if include_nonce and msg.nonce is not None:
            data["nonce"] = msg.nonce
        return data

    def message_event_payload(self, msg: FakeMessage) -> JSON:
        """MESSAGE_CREATE/UPDATE data: the message plus ``member`` for guild messages."""
        data = self.message_payload(msg, include_nonce=True)
        if msg.guild_id is not None:
            guild = self.guilds.get(msg.guild_id)
            if guild is not None and msg.author_id in guild.members:
                data["member"] = self.member_payload(guild, msg.author_id, with_user=False)
        return data

    # ------------------------------------------------------------- messages

    def resolve_mentions(
        self, guild: FakeGuild | None, content: str, allowed_mentions: JSON | None
    ) -> tuple[list[int], list[int], bool]:
        """Which users, roles and @everyone the content pings, filtered by ``allowed_mentions``."""
        parse = {"users", "roles", "everyone"}
        allowed_users: set[int] = set()
        allowed_roles: set[int] = set()
        if allowed_mentions is not None:
            parse = set(allowed_mentions.get("parse", []))
            allowed_users = {int(u) for u in allowed_mentions.get("users", [])}
            allowed_roles = {int(r) for r in allowed_mentions.get("roles", [])}
        users = [
            int(u)
            for u in dict.fromkeys(_USER_MENTION.findall(content))
            if "users" in parse or int(u) in allowed_users
        ]
        roles = [
            int(r)
            for r in dict.fromkeys(_ROLE_MENTION.findall(content))
            if ("roles" in parse or int(r) in allowed_roles)
            and (guild is None or int(r) in guild.roles)
        ]
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        return users, roles, everyone

    def new_message(
        self,
        channel: FakeChannel,
        author_id: int,
        body: JSON,
        *,
        store_in_channel: bool = True,
    ) -> FakeMessage:
        """Create a message from a Create Message style body and (optionally) store it."""
        guild = self.guilds.get(channel.guild_id)
        content = str(body.get("content") or "")
        allowed = body.get("allowed_mentions")
        users, roles, everyone = self.resolve_mentions(guild, content, allowed)
        msg = FakeMessage(
            id=self.snowflakes.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            embeds=[normalize_embed(e) for e in body.get("embeds") or []],
            components=list(body.get("components") or []),
            attachments=list(body.get("attachments") or []),
            flags=int(body.get("flags") or 0),
            tts=bool(body.get("tts", False)),
            nonce=body.get("nonce"),
            enforce_nonce=bool(body.get("enforce_nonce", False)),
            allowed_mentions=allowed,
            mention_ids=users,
            mention_role_ids=roles,
            mention_everyone=everyone,
            message_reference=body.get("message_reference"),
        )
        self.messages[msg.id] = msg
        if store_in_channel:
            channel.messages.append(msg)
        return msg

    def edit_message(self, msg: FakeMessage, body: JSON) -> None:
        """Apply an Edit Message style body (only the keys present change)."""
        if "content" in body:
            msg.content = str(body["content"] or "")
        if "embeds" in body:
            msg.embeds = [normalize_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            msg.components = list(body["components"] or [])
        if "attachments" in body:
            msg.attachments = list(body["attachments"] or [])
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS (1 << 2) can be changed by an edit; keep the others.
            suppress = 1 << 2
            msg.flags = (msg.flags & ~suppress) | (int(body["flags"]) & suppress)
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        guild = self.guilds.get(msg.guild_id) if msg.guild_id is not None else None
        msg.mention_ids, msg.mention_role_ids, msg.mention_everyone = self.resolve_mentions(
            guild, msg.content, msg.allowed_mentions
        )
        msg.edited_at = now_iso()

    def delete_message(self, msg: FakeMessage) -> None:
        msg.deleted = True
        channel = self.channels.get(msg.channel_id)
        if channel is not None and msg in channel.messages:
            channel.messages.remove(msg)


def normalize_embed(embed: JSON) -> JSON:
    """Discord stores embeds with ``type: rich`` and without empty keys."""
    data = {k: v for k, v in embed.items() if v is not None}
    data.setdefault("type", "rich")
    return data


def default_everyone_role(guild_id: int) -> FakeRole:
    return FakeRole(guild_id, guild_id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS, position=0)
