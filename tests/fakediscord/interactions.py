"""Application commands the bot synced, INTERACTION_CREATE payloads, and what the user saw.

A test invokes ``/newsadmin publishing off channel:#x`` as
``await fake.slash(guild, channel, user, "newsadmin publishing off", {"channel": ChannelRef(x)})``:
the name path is split into command, subcommand group and subcommand, option types come from
the command payload the bot synced (or from the Python value and the ``*Ref`` markers when the
bot never synced), and channel/role/user options get ``resolved`` data like Discord sends.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .state import EPHEMERAL_FLAG, JSON, LOADING_FLAG, FakeGuild, FakeMessage, State

PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Interaction callback types
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

# Application command option types
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10

Scope = Literal["global"] | int
WaitMode = Literal["none", "callback", "followup", "final"]


@dataclass(frozen=True)
class ChannelRef:
    """Marks an option value as a channel (needed only when the command was never synced)."""

    id: int


@dataclass(frozen=True)
class RoleRef:
    id: int


@dataclass(frozen=True)
class UserRef:
    id: int


OptionValue = str | int | float | bool | ChannelRef | RoleRef | UserRef


class CommandRegistry:
    """Application commands as stored by Discord, per scope ("global" or a guild id)."""

    def __init__(self, state: State) -> None:
        self._state = state
        self.scopes: dict[Scope, list[JSON]] = {}
        self.syncs: list[tuple[Scope, list[JSON]]] = []
        self._synthetic: dict[str, int] = {}

    def in_scope(self, scope: Scope) -> list[JSON]:
        return list(self.scopes.get(scope, []))

    def _stored(self, scope: Scope, cmd: JSON, previous: JSON | None) -> JSON:
        state = self._state
        perms = cmd.get("default_member_permissions")
        data: JSON = {
            "type": 1,
            "description": "",
            "options": [],
            "nsfw": False,
            "dm_permission": True,
            "contexts": None,
            "integration_types": [0],
            "name_localizations": None,
            "description_localizations": None,
        } | cmd
        data |= {
            "id": previous["id"] if previous else str(state.snowflakes.next()),
            "application_id": str(state.application_id),
            "version": str(state.snowflakes.next()),
            "default_member_permissions": None if perms is None else str(perms),
        }
        if scope != "global":
            data["guild_id"] = str(scope)
        return data

    def bulk_overwrite(self, scope: Scope, payload: list[JSON]) -> list[JSON]:
        self.syncs.append((scope, payload))
        old = {(c["name"], c.get("type", 1)): c for c in self.scopes.get(scope, [])}
        stored = [self._stored(scope, c, old.get((c["name"], c.get("type", 1)))) for c in payload]
        self.scopes[scope] = stored
        return stored

    def upsert(self, scope: Scope, cmd: JSON) -> tuple[JSON, bool]:
        commands = self.scopes.setdefault(scope, [])
        key = (cmd["name"], cmd.get("type", 1))
        for i, existing in enumerate(commands):
            if (existing["name"], existing.get("type", 1)) == key:
                commands[i] = self._stored(scope, cmd, existing)
                return commands[i], False
        stored = self._stored(scope, cmd, None)
        commands.append(stored)
        return stored, True

    def get(self, scope: Scope, command_id: int) -> JSON | None:
        return next((c for c in self.scopes.get(scope, []) if int(c["id"]) == command_id), None)

    def delete(self, scope: Scope, command_id: int) -> bool:
        commands = self.scopes.get(scope, [])
        for cmd in commands:
            if int(cmd["id"]) == command_id:
                commands.remove(cmd)
                return True
        return False

    def find(self, name: str, guild_id: int | None, kind: int = 1) -> tuple[JSON | None, Scope]:
        """The synced command the client would see: guild commands shadow global ones."""
        scopes: list[Scope] = [guild_id, "global"] if guild_id is not None else ["global"]
        for scope in scopes:
            for cmd in self.scopes.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == kind:
                    return cmd, scope
        return None, "global"

    def synthetic_id(self, name: str) -> int:
        if name not in self._synthetic:
            self._synthetic[name] = self._state.snowflakes.next()
        return self._synthetic[name]


@dataclass
class InteractionRecord:
    """Everything the bot did in answer to one interaction: what the user saw."""

    id: int
    token: str
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: JSON
    created_at: float
    """Event-loop time the INTERACTION_CREATE was sent (the 3 s deadline counts from here)."""
    state: State = field(repr=False)
    component_message_id: int | None = None
    callbacks: list[JSON] = field(default_factory=list)
    """Accepted callback bodies (``{"type": ..., "data": ...}``), normally exactly one."""
    rejected: list[tuple[str, str, int]] = field(default_factory=list)
    """Refused calls as (method, path, Discord error code): late (10062), twice (40060), ..."""
    original_message_id: int | None = None
    original_edits: list[JSON] = field(default_factory=list)
    followup_ids: list[int] = field(default_factory=list)
    original_deleted: bool = False

    @property
    def callback(self) -> JSON | None:
        return self.callbacks[0] if self.callbacks else None

    @property
    def callback_type(self) -> int | None:
        return self.callbacks[0]["type"] if self.callbacks else None

    @property
    def callback_data(self) -> JSON:
        return (self.callbacks[0].get("data") or {}) if self.callbacks else {}

    @property
    def responded(self) -> bool:
        return bool(self.callbacks)

    @property
    def deferred(self) -> bool:
        return self.callback_type in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE)

    @property
    def ephemeral(self) -> bool:
        """Whether the response message (reply or deferred "thinking" message) is ephemeral."""
        if self.callback_type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            return bool(int(self.callback_data.get("flags") or 0) & EPHEMERAL_FLAG)
        return False

    @property
    def choices(self) -> list[JSON] | None:
        """Autocomplete choices (callback type 8), or None if the bot did not answer with them."""
        if self.callback_type != AUTOCOMPLETE_RESULT:
            return None
        return list(self.callback_data.get("choices") or [])

    @property
    def modal(self) -> JSON | None:
        return self.callback_data if self.callback_type == MODAL else None

    def _message(self, message_id: int | None) -> FakeMessage | None:
        if message_id is None:
            return None
        return self.state.messages.get(message_id)

    @property
    def original(self) -> JSON | None:
        """The original response message as it is now (after edits), None if none or deleted."""
        msg = self._message(self.original_message_id)
        if msg is None or msg.deleted:
            return None
        return self.state.message_payload(msg)

    @property
    def followups(self) -> list[JSON]:
        """Follow-up messages in order (one that filled in a deferred response included)."""
        out = []
        for mid in self.followup_ids:
            msg = self._message(mid)
            if msg is not None and not msg.deleted:
                out.append(self.state.message_payload(msg))
        return out

    @property
    def messages(self) -> list[JSON]:
        """Every message the user can see for this interaction: original first, then follow-ups."""
        ids = dict.fromkeys([self.original_message_id, *self.followup_ids])
        out = []
        for mid in ids:
            msg = self._message(mid)
            if msg is not None and not msg.deleted:
                out.append(self.state.message_payload(msg))
        return out

    @property
    def content(self) -> str:
        """Content of the response: the original message, or the first follow-up."""
        messages = self.messages
        return str(messages[0].get("content", "")) if messages else ""

    @property
    def embeds(self) -> list[JSON]:
        messages = self.messages
        return list(messages[0].get("embeds", [])) if messages else []

    @property
    def loading(self) -> bool:
        """True while a deferred response still shows "thinking..."."""
        msg = self._message(self.original_message_id)
        return msg is not None and bool(msg.flags & LOADING_FLAG)

    def reached(self, mode: WaitMode, followups: int = 1) -> bool:
        """Whether the bot has answered far enough for ``wait_for=mode``."""
        if mode == "none":
            return True
        attempted = bool(self.callbacks or self.rejected)
        if mode == "callback":
            return attempted
        if mode == "followup":
            return len(self.followup_ids) >= followups or any(
                path.startswith("/webhooks") and method == "POST"
                for method, path, _ in self.rejected
            )
        # final: an answer the user can read, or an autocomplete/modal/update answer
        if not attempted:
            return False
        if self.rejected and not self.callbacks:
            return True
        if self.callback_type == DEFERRED_CHANNEL_MESSAGE:
            return not self.loading or bool(self.followup_ids)
        if self.callback_type == DEFERRED_UPDATE_MESSAGE:
            return bool(self.original_edits or self.followup_ids)
        return True


def find_component(components: list[JSON], custom_id: str) -> JSON | None:
    """Find a component by custom_id in a message's (possibly nested) components."""
    for comp in components:
        if comp.get("custom_id") == custom_id:
            return comp
        for key in ("components", "accessory"):
            child = comp.get(key)
            children = [child] if isinstance(child, dict) else child or []
            found = find_component(children, custom_id)
            if found is not None:
                return found
    return None


class InteractionFactory:
    """Builds INTERACTION_CREATE payloads from the fake's state and the synced commands."""

    def __init__(self, state: State, commands: CommandRegistry) -> None:
        self.state = state
        self.commands = commands

    def base(
        self,
        kind: int,
        guild_id: int,
        channel_id: int,
        user_id: int,
        *,
        permissions: int | None,
        locale: str,
    ) -> tuple[int, str, JSON]:
        state = self.state
        guild = state.guild(guild_id)
        channel = state.channel(channel_id)
        if user_id not in guild.members:
            raise KeyError(
                f"user {user_id} is not a member of guild {guild_id}: add_member() first"
            )
        user_perms = state.permissions_in(channel, user_id) if permissions is None else permissions
        interaction_id = state.snowflakes.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(state.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(guild_id),
            "guild": {
                "id": str(guild_id),
                "locale": guild.preferred_locale,
                "features": guild.features,
            },
            "channel_id": str(channel_id),
            "channel": channel.payload() | {"permissions": str(user_perms)},
            "member": state.member_payload(guild, user_id, permissions=user_perms),
            "locale": locale,
            "guild_locale": guild.preferred_locale,
            "app_permissions": str(state.permissions_in(channel, state.bot_id)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        return interaction_id, token, payload

    def command_data(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, OptionValue],
        *,
        focused: str | None = None,
    ) -> JSON:
        """``data`` of an application command (or autocomplete) interaction."""
        path = name.split()
        if not path:
            raise ValueError("command name must not be empty")
        cmd, scope = self.commands.find(path[0], guild_id)
        data: JSON = {
            "id": cmd["id"] if cmd else str(self.commands.synthetic_id(path[0])),
            "name": path[0],
            "type": 1,
        }
        if scope != "global":
            data["guild_id"] = str(scope)
        node: JSON | None = cmd
        container: list[JSON] = []
        data["options"] = container
        for depth, sub in enumerate(path[1:], start=1):
            schema = _child(node, sub, what="subcommand", command=name)
            kind = (
                schema["type"]
                if schema
                else (SUB_COMMAND if depth == len(path) - 1 else SUB_COMMAND_GROUP)
            )
            child: JSON = {"type": kind, "name": sub, "options": []}
            container.append(child)
            container = child["options"]
            node = schema
        if focused is not None and focused not in options:
            raise ValueError(f"focused option {focused!r} must be given in options")
        resolved: JSON = {}
        guild = self.state.guild(guild_id)
        for opt_name, value in options.items():
            schema = _child(node, opt_name, what="option", command=name)
            kind = _option_type(value, schema)
            option: JSON = {"type": kind, "name": opt_name, "value": _option_value(value, kind)}
            container.append(option)
            if opt_name == focused:
                # Autocomplete sends what the user has typed so far, as a string.
                option["focused"] = True
                option["value"] = value if isinstance(value, str) else str(option["value"])
            else:
                self._resolve(resolved, guild, channel_id, user_id, kind, option["value"])
        if node is not None and focused is None:
            missing = [
                o["name"]
                for o in node.get("options") or []
                if o.get("required") and o["name"] not in options
            ]
            if missing:
                raise ValueError(f"/{name} needs the required options {missing}")
        if resolved:
            data["resolved"] = resolved
        return data

    def _resolve(
        self, resolved: JSON, guild: FakeGuild, channel_id: int, user_id: int, kind: int, value: Any
    ) -> None:
        """Add what Discord sends in ``resolved`` for a user/channel/role/mentionable option."""
        state = self.state
        if kind not in (USER, CHANNEL, ROLE, MENTIONABLE):
            return
        target = int(value)
        if kind == CHANNEL:
            channel = state.channel(target)
            perms = state.permissions_in(channel, user_id)
            resolved.setdefault("channels", {})[str(target)] = {
                "id": str(target),
                "name": channel.name,
                "type": channel.type,
                "permissions": str(perms),
                "parent_id": None if channel.parent_id is None else str(channel.parent_id),
                "guild_id": str(guild.id),
                "flags": 0,
            }
        elif kind == ROLE or (kind == MENTIONABLE and target in guild.roles):
            resolved.setdefault("roles", {})[str(target)] = guild.roles[target].payload()
        else:
            resolved.setdefault("users", {})[str(target)] = state.user_payload(target)
            if target in guild.members:
                perms = state.permissions_in(state.channel(channel_id), target)
                member = state.member_payload(guild, target, with_user=False, permissions=perms)
                resolved.setdefault("members", {})[str(target)] = member


def _child(node: JSON | None, name: str, *, what: str, command: str) -> JSON | None:
    """The synced schema of a subcommand or option; None when the command was never synced."""
    if node is None:
        return None
    options: list[JSON] = node.get("options") or []
    found = next((o for o in options if o.get("name") == name), None)
    if found is None:
        known = [o.get("name") for o in options]
        raise ValueError(f"/{command}: the synced command has no {what} {name!r} (it has {known})")
    return found


def _option_type(value: OptionValue, schema: JSON | None) -> int:
    if isinstance(value, ChannelRef):
        return CHANNEL
    if isinstance(value, RoleRef):
        return ROLE
    if isinstance(value, UserRef):
        return USER
    if schema is not None:
        return int(schema["type"])
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    return STRING


def _option_value(value: OptionValue, kind: int) -> Any:
    if isinstance(value, ChannelRef | RoleRef | UserRef):
        return str(value.id)
    if kind in (USER, CHANNEL, ROLE, MENTIONABLE):
        return str(value)
    if kind == INTEGER and not isinstance(value, bool):
        return int(value)
    if kind == NUMBER:
        return float(value)
    return value


def component_data(
    message: FakeMessage, custom_id: str, *, values: list[str] | None, component_type: int | None
) -> JSON:
    """``data`` of a component interaction on ``message`` (a button click or a select)."""
    component = find_component(message.components, custom_id)
    if component_type is not None:
        kind = component_type
    elif component is not None:
        kind = int(component["type"])
    else:
        raise ValueError(
            f"message {message.id} has no component with custom_id {custom_id!r}; "
            "pass component_type= to click a component the message does not show"
        )
    data: JSON = {"custom_id": custom_id, "component_type": kind}
    if values is not None or kind in (3, 5, 6, 7, 8):
        data["values"] = list(values or [])
    return data
