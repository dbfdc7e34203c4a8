"""Per-server policy: the config file's defaults, overridden by what a server's moderators set.

Also the one place where a subscription learns which server its channel belongs to: from the
gateway cache, never from whoever asks (a moderator of another server could claim it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.domain.subscription import Subscription
from bot.services.publishing.ports import Channels
from bot.store.guilds import GuildStore
from bot.store.subscriptions import SubscriptionStore


@dataclass(frozen=True, slots=True)
class GuildDefaults:
    """What the config file says for every server that did not choose otherwise."""

    publishing_enabled: bool = True
    log_channel_id: int | None = None
    moderator_role_ids: tuple[int, ...] = ()


class GuildPolicy:
    def __init__(
        self,
        guilds: GuildStore,
        subscriptions: SubscriptionStore,
        channels: Channels,
        defaults: GuildDefaults,
    ) -> None:
        self.guilds = guilds
        self.subscriptions = subscriptions
        self.channels = channels
        self.defaults = defaults

    def resolve_publishing(self, own: bool | None) -> bool:
        """A server's publishing switch, given its own setting (None: the default)."""
        return self.defaults.publishing_enabled if own is None else own

    async def publishing_enabled(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.defaults.publishing_enabled
        return self.resolve_publishing((await self.guilds.get(guild_id)).publishing_enabled)

    async def log_channel(self, guild_id: int | None) -> int | None:
        """The server's log channel, else the config's default when that is in the same
        server (one server's alerts never go to another server)."""
        if guild_id is not None:
            own = (await self.guilds.get(guild_id)).log_channel_id
            if own is not None:
                return own
        default = self.defaults.log_channel_id
        if default is None:
            return None
        info = self.channels.channel_info(default)
        return default if info is not None and info.guild_id == guild_id else None

    async def moderator_roles(self, guild_id: int) -> tuple[int, ...]:
        own = (await self.guilds.get(guild_id)).moderator_role_ids
        return self.defaults.moderator_role_ids if own is None else own

    async def is_moderator(
        self, guild_id: int, role_ids: Sequence[int], manage_guild: bool
    ) -> bool:
        if manage_guild:
            return True
        return bool(set(role_ids) & set(await self.moderator_roles(guild_id)))

    async def locate(self, sub: Subscription) -> Subscription:
        """The subscription with the server its channel is in, as the gateway cache knows it
        (stored when it changes, so it is known while the bot is offline too)."""
        info = self.channels.channel_info(sub.channel_id)
        if info is None or info.guild_id is None or info.guild_id == sub.guild_id:
            return sub
        await self.subscriptions.set_guild(sub.id, info.guild_id)
        return replace(sub, guild_id=info.guild_id)
