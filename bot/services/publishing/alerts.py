"""Telling moderators, and pausing a subscription whose channel cannot be used (alerted once).

A pause is lifted by a moderator (switching the subscription on) or by :meth:`Pauses.recheck`
once the gateway cache shows the channel usable again; nothing is lost meanwhile.
"""

from __future__ import annotations

import logging

from bot.domain.subscription import Subscription
from bot.log import with_ids
from bot.services.publishing.guilds import GuildPolicy
from bot.services.publishing.ports import Channels, DeliveryError, Poster
from bot.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)


class Alerts:
    """Messages for a server's moderators, in its log channel (or the config's default one
    when that is in the same server); silently nowhere when there is none."""

    def __init__(self, poster: Poster, guilds: GuildPolicy) -> None:
        self.poster = poster
        self.guilds = guilds

    def ready(self) -> bool:
        """Whether alerts can go out now (connected to Discord)."""
        return self.poster.ready()

    async def tell(self, guild_id: int | None, text: str, *, not_in: int | None = None) -> None:
        """``not_in``: a channel the alert must not go to (the one it is about)."""
        channel = await self.guilds.log_channel(guild_id)
        if channel is None or channel == not_in:
            return
        await self._send(channel, text)

    async def operators(self, text: str) -> bool:
        """An alert about the installation (not one server): the config's log channel.
        False: it could not go out now (not connected to Discord yet, or refused)."""
        channel = self.guilds.defaults.log_channel_id
        if channel is None:
            return True  # nowhere to tell: the log has it
        if not self.poster.ready():  # an ingest at start-up runs before the bot is connected
            return False
        return await self._send(channel, text)

    async def _send(self, channel: int, text: str) -> bool:
        try:
            await self.poster.alert(channel, text)
        except DeliveryError as exc:
            log.warning("could not alert the moderators in channel %s: %s", channel, exc.reason)
            return False
        return True


class Pauses:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        alerts: Alerts,
        channels: Channels,
        guilds: GuildPolicy,
    ) -> None:
        self.subscriptions = subscriptions
        self.alerts = alerts
        self.channels = channels
        self.guilds = guilds

    async def pause(self, sub: Subscription, reason: str) -> None:
        """Stop publishing to the channel; tell the moderators once per reason."""
        with_ids(log, **sub.ids).warning(
            "pausing the subscription for channel %s: %s", sub.channel_id, reason
        )
        await self.subscriptions.pause(sub.id, reason)
        if sub.alerted_reason != reason:
            await self.alerts.tell(
                sub.guild_id,
                f"⏸️ Newsdesk paused publishing to <#{sub.channel_id}>: {reason}. It resumes by "
                "itself once the channel is usable again, or when a moderator switches it on.",
                not_in=sub.channel_id,
            )
            await self.subscriptions.mark_alerted(sub.id, reason)

    async def posted(self, sub: Subscription) -> None:
        """A post went out: a later pause alerts the moderators again."""
        if sub.alerted_reason is not None:
            await self.subscriptions.mark_alerted(sub.id, None)

    async def pause_guild(self, guild_id: int, reason: str) -> None:
        """The bot left (or lost) a server: pause its subscriptions, nothing is lost."""
        for sub in await self.subscriptions.list(guild_id):
            if sub.paused_reason is None:
                with_ids(log, **sub.ids).warning(
                    "pausing the subscription for channel %s: %s", sub.channel_id, reason
                )
                await self.subscriptions.pause(sub.id, reason)

    async def recheck(self) -> list[int]:
        """Resume paused subscriptions whose channel is usable again (from the gateway cache,
        without requests); return their ids."""
        resumed = []
        for sub in await self.subscriptions.list():
            if sub.paused_reason is None:
                continue
            info = self.channels.channel_info(sub.channel_id)
            if info is None or info.problem is not None:
                continue
            with_ids(log, **sub.ids).info(
                "channel %s is usable again: resuming its subscription", sub.channel_id
            )
            await self.subscriptions.resume(sub.id)
            await self.guilds.locate(sub)
            resumed.append(sub.id)
        return resumed
