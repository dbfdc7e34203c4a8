"""Permission bits and Discord's permission resolution, as the fake server computes them.

The values are Discord's documented bit positions. The resolution order (owner, administrator,
@everyone overwrite, role overwrites, member overwrite, implicit denials) follows Discord's
"Permission Hierarchy" and discord.py's ``GuildChannel.permissions_for``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
STREAM = 1 << 9
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
USE_VAD = 1 << 25
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
USE_EXTERNAL_STICKERS = 1 << 37
SEND_MESSAGES_IN_THREADS = 1 << 38

ALL_PERMISSIONS = (1 << 53) - 1
"""What an owner or administrator gets: every bit Discord defines (and a few unused ones)."""

DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
)
"""Close to what Discord gives @everyone in a new server: view, send, embed, read history, etc."""

VOICE_PERMISSIONS = 321_607_217_185_536
"""discord.py's ``Permissions.voice().value``: ``permissions_for`` strips it in text channels."""

CHANNEL_PERMISSIONS = 8_555_290_110_197_585
"""discord.py's ``Permissions.all_channel().value``: what a member loses where it cannot view."""

ROLE: Literal[0] = 0
MEMBER: Literal[1] = 1


@dataclass(frozen=True)
class Overwrite:
    """A channel permission overwrite for a role (``type=ROLE``) or a member (``type=MEMBER``)."""

    id: int
    allow: int = 0
    deny: int = 0
    type: Literal[0, 1] = ROLE

    @classmethod
    def role(cls, role_id: int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        return cls(role_id, allow, deny, ROLE)

    @classmethod
    def member(cls, user_id: int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        return cls(user_id, allow, deny, MEMBER)

    @classmethod
    def coerce(cls, value: Overwrite | dict[str, Any]) -> Overwrite:
        """Accept an ``Overwrite`` or a Discord-shaped dict (id, type, allow, deny)."""
        if isinstance(value, Overwrite):
            return value
        kind = int(value.get("type", ROLE))
        return cls(
            int(value["id"]),
            int(value.get("allow", 0)),
            int(value.get("deny", 0)),
            MEMBER if kind == MEMBER else ROLE,
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


def base_permissions(
    *,
    guild_id: int,
    owner_id: int | None,
    user_id: int,
    member_role_ids: Iterable[int],
    role_permissions: dict[int, int],
) -> int:
    """Guild-level permissions of a member: @everyone OR'ed with the member's roles."""
    if owner_id is not None and user_id == owner_id:
        return ALL_PERMISSIONS
    perms = role_permissions.get(guild_id, 0)
    for role_id in member_role_ids:
        perms |= role_permissions.get(role_id, 0)
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def channel_permissions(
    *,
    base: int,
    guild_id: int,
    user_id: int,
    member_role_ids: Iterable[int],
    overwrites: Iterable[Overwrite],
) -> int:
    """Apply a channel's overwrites to guild-level permissions, like Discord does."""
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    overwrites = list(overwrites)
    role_ids = set(member_role_ids)
    perms = base
    for ow in overwrites:
        if ow.type == ROLE and ow.id == guild_id:
            perms = (perms & ~ow.deny) | ow.allow
    allow = deny = 0
    for ow in overwrites:
        if ow.type == ROLE and ow.id != guild_id and ow.id in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    for ow in overwrites:
        if ow.type == MEMBER and ow.id == user_id:
            perms = (perms & ~ow.deny) | ow.allow
    if not perms & SEND_MESSAGES:
        perms &= ~(SEND_TTS_MESSAGES | MENTION_EVERYONE | EMBED_LINKS | ATTACH_FILES)
    if not perms & VIEW_CHANNEL:
        perms &= ~CHANNEL_PERMISSIONS
    return perms
