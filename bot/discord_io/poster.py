"""DiscordPoster: the only code that sends scheduled posts; turns Discord failures into the
publisher's categories (pause the channel, quarantine the article, retry later)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import aiohttp
import discord

from bot.discord_io.render import allowed_mentions, post_embed, post_view
from bot.domain.posts import PostSpec
from bot.domain.urls import InvalidURLError, canonical_url
from bot.services.publishing.ports import (
    ChannelInfo,
    ChannelUnavailable,
    DeliveryError,
    HistoryUnavailable,
    PostRejected,
    TransientError,
)

log = logging.getLogger(__name__)

MISSING_ACCESS, MISSING_PERMISSIONS = 50001, 50013
UNKNOWN_CHANNEL, UNKNOWN_MESSAGE = 10003, 10008


def classify(exc: Exception) -> DeliveryError:
    """Map a discord.py / network failure to what publishing does about it."""
    if isinstance(exc, discord.Forbidden):
        return ChannelUnavailable(f"Discord refused access ({exc.code}: {exc.text})", exc.code)
    if isinstance(exc, discord.NotFound):
        if exc.code == UNKNOWN_CHANNEL:
            return ChannelUnavailable(f"the channel no longer exists ({exc.code})", exc.code)
        return PostRejected(f"not found ({exc.code}: {exc.text})", exc.code)
    if isinstance(exc, discord.DiscordServerError):
        return TransientError(f"Discord server error {exc.status}", exc.code)
    if isinstance(exc, discord.RateLimited):
        return TransientError(f"rate limited for {exc.retry_after:.0f}s")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            return TransientError("rate limited")
        if exc.status in (401,):
            return TransientError(f"Discord answered {exc.status}")
        return PostRejected(f"Discord rejected the post ({exc.code}: {exc.text})", exc.code)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransientError(f"network error: {type(exc).__name__}: {exc}")
    raise exc


class DiscordPoster:
    """Implements bot.services.publisher.Poster with a discord.py client."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def ready(self) -> bool:
        return self.client.is_ready() and not any(g.unavailable for g in self.client.guilds)

    def channel_info(self, channel_id: int) -> ChannelInfo | None:
        channel = self.client.get_channel(channel_id)
        if channel is None or isinstance(channel, discord.abc.PrivateChannel):
            return None
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            return ChannelInfo(channel.guild.id, f"#{channel.name}", "not a text channel")
        me = channel.guild.me
        perms = channel.permissions_for(me)
        needed = [
            ("View Channel", perms.view_channel),
            (
                "Send Messages in Threads"
                if isinstance(channel, discord.Thread)
                else "Send Messages",
                perms.send_messages_in_threads
                if isinstance(channel, discord.Thread)
                else perms.send_messages,
            ),
            ("Embed Links", perms.embed_links),
        ]
        # Discord takes away what depends on a missing permission (no Send Messages: no Embed
        # Links either); name only the first missing one, the one to grant.
        missing = next((name for name, granted in needed if not granted), None)
        problem = f"missing permissions: {missing}" if missing else None
        return ChannelInfo(channel.guild.id, f"#{channel.name}", problem)

    def _messageable(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.client.get_channel(channel_id)
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self.client.get_partial_messageable(channel_id)

    async def send(self, channel_id: int, post: PostSpec, nonce: str) -> int | None:
        try:
            message = await self._messageable(channel_id).send(
                content=post.content,
                embed=post_embed(post),
                view=post_view(post),
                nonce=nonce,
                allowed_mentions=allowed_mentions(post),
            )
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:
                # Discord's answer for a nonce whose message was deleted moments ago: the post
                # went out and a moderator removed it. Do not post it again.
                return None
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc
        return message.id

    async def find_post(
        self, channel_id: int, post: PostSpec, since: datetime, until: datetime
    ) -> int | None:
        me = self.client.user
        if me is None:
            raise TransientError("not logged in")
        # Without Read Message History Discord answers with an empty list, not a refusal:
        # "not found" would then be a lie. Ask the cache first.
        channel = self.client.get_channel(channel_id)
        if (
            isinstance(channel, discord.abc.GuildChannel | discord.Thread)
            and not channel.permissions_for(channel.guild.me).read_message_history
        ):
            raise HistoryUnavailable("missing Read Message History")
        try:
            history = self._messageable(channel_id).history(
                limit=None, after=since, oldest_first=True
            )
            async for message in history:
                if message.created_at > until:
                    return None
                if message.author.id == me.id and _is_post(message, post):
                    return message.id
        except discord.Forbidden as exc:
            if exc.code == MISSING_PERMISSIONS:
                raise HistoryUnavailable(
                    f"missing Read Message History ({exc.code})", exc.code
                ) from exc
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc
        return None

    async def crosspost(self, channel_id: int, message_id: int) -> None:
        channel = self.client.get_channel(channel_id)
        if isinstance(channel, discord.TextChannel) and not channel.is_news():
            return
        try:
            await (
                self.client.get_partial_messageable(channel_id)
                .get_partial_message(message_id)
                .publish()
            )
        except Exception as exc:
            raise classify(exc) from exc

    async def alert(self, channel_id: int, text: str) -> None:
        try:
            await self._messageable(channel_id).send(
                text[:2000], allowed_mentions=discord.AllowedMentions.none()
            )
        except Exception as exc:
            raise classify(exc) from exc


def _is_post(message: discord.Message, post: PostSpec) -> bool:
    """The bot's own message for this article: its button id, or its embed's URL."""
    if post.related_button_id:
        for row in message.components:
            for child in getattr(row, "children", ()):
                if getattr(child, "custom_id", None) == post.related_button_id:
                    return True
    for embed in message.embeds:
        if embed.url:
            try:
                if canonical_url(embed.url) == post.article_url:
                    return True
            except InvalidURLError:
                continue
    return False
