"""DiscordPoster: the only code that sends scheduled posts; turns Discord failures into the
publisher's categories (pause the channel, quarantine the article, retry later)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Literal

import aiohttp
import discord

from bot.discord_io.channels import channel_info
from bot.discord_io.edits import classify_edit, edit_forum_post, edit_message
from bot.discord_io.edits import forum_thread as fetch_forum_thread
from bot.discord_io.history import find_post
from bot.discord_io.render import allowed_mentions, post_embeds, post_view
from bot.domain.posts import PostSpec
from bot.domain.threads import ThreadSpec
from bot.services.publishing.ports import (
    ChannelInfo,
    ChannelUnavailable,
    DeliveryError,
    Edited,
    HistoryUnavailable,
    Posted,
    PostGone,
    PostRejected,
    RateLimited,
    ThreadsUnavailable,
    TransientError,
)

log = logging.getLogger(__name__)

MISSING_ACCESS, MISSING_PERMISSIONS = 50001, 50013
UNKNOWN_CHANNEL, UNKNOWN_MESSAGE = 10003, 10008
TAG_REQUIRED = 40067
THREAD_EXISTS, MAX_ACTIVE_THREADS = 160004, 160006
THREAD_LIMIT = "the server has reached Discord's limit of active threads"


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
        return RateLimited(f"rate limited for {exc.retry_after:.0f}s")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            return RateLimited("rate limited")
        if exc.status in (401,):
            return TransientError(f"Discord answered {exc.status}")
        return PostRejected(f"Discord rejected the post ({exc.code}: {exc.text})", exc.code)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransientError(f"network error: {type(exc).__name__}: {exc}")
    raise exc


def _archive(minutes: int) -> Literal[60, 1440, 4320, 10080]:
    assert minutes in (60, 1440, 4320, 10080), minutes
    return minutes  # type: ignore[return-value]


class DiscordPoster:
    """Implements bot.services.publisher.Poster with a discord.py client."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def ready(self) -> bool:
        return self.client.is_ready() and not any(g.unavailable for g in self.client.guilds)

    def channel_info(self, channel_id: int) -> ChannelInfo | None:
        return channel_info(self.client, channel_id)

    def _messageable(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.client.get_channel(channel_id)
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self.client.get_partial_messageable(channel_id)

    async def send(self, channel_id: int, post: PostSpec, nonce: str) -> Posted | None:
        try:
            message = await self._messageable(channel_id).send(
                content=post.content,
                embeds=post_embeds(post),
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
        return Posted(message.id)

    async def create_forum_post(
        self, channel_id: int, post: PostSpec, thread: ThreadSpec
    ) -> Posted:
        forum = self.client.get_channel(channel_id)
        if not isinstance(forum, discord.ForumChannel):
            raise ChannelUnavailable("the forum channel is not known to the bot")
        try:
            created = await forum.create_thread(
                name=thread.name,
                auto_archive_duration=_archive(thread.archive_minutes),
                applied_tags=[discord.Object(tag_id) for tag_id in thread.tag_ids],  # type: ignore[misc]
                content=post.content,
                embeds=post_embeds(post),
                view=post_view(post),
                allowed_mentions=allowed_mentions(post),
            )
        except discord.HTTPException as exc:
            if exc.code == TAG_REQUIRED:
                raise ChannelUnavailable(
                    f"the forum requires a tag on every post ({exc.code})", exc.code
                ) from exc
            if exc.code == MAX_ACTIVE_THREADS:
                raise ChannelUnavailable(f"{THREAD_LIMIT} ({exc.code})", exc.code) from exc
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc
        return Posted(created.message.id, created.thread.id)

    async def start_thread(self, channel_id: int, message_id: int, thread: ThreadSpec) -> int:
        channel = self.client.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise ThreadsUnavailable("threads start only in text and announcement channels")
        message = channel.get_partial_message(message_id)
        try:
            started = await message.create_thread(
                name=thread.name, auto_archive_duration=_archive(thread.archive_minutes)
            )
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:
                return message_id  # a thread started on a message has the message's id
            if exc.code == UNKNOWN_MESSAGE:
                raise PostGone(f"the post was deleted ({exc.code})", exc.code) from exc
            if exc.code in (MISSING_ACCESS, MISSING_PERMISSIONS):
                raise ThreadsUnavailable(
                    f"missing permissions: Create Public Threads ({exc.code})", exc.code
                ) from exc
            if exc.code == MAX_ACTIVE_THREADS:
                raise ThreadsUnavailable(f"{THREAD_LIMIT} ({exc.code})", exc.code) from exc
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc
        return started.id

    async def find_post(
        self, channel_id: int, post: PostSpec, since: datetime, until: datetime
    ) -> Posted | None:
        try:
            return await find_post(self.client, channel_id, post, since, until)
        except DeliveryError:
            raise
        except discord.Forbidden as exc:
            if exc.code == MISSING_PERMISSIONS:
                raise HistoryUnavailable(
                    f"missing Read Message History ({exc.code})", exc.code
                ) from exc
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc

    async def edit_post(
        self,
        channel_id: int,
        message_id: int,
        post: PostSpec,
        *,
        forum_thread: int | None = None,
        name: str | None = None,
    ) -> Edited:
        try:
            if forum_thread is not None:
                return await edit_forum_post(self.client, forum_thread, message_id, post, name)
            await edit_message(self.client.get_partial_messageable(channel_id), message_id, post)
            return Edited()
        except DeliveryError:
            raise
        except Exception as exc:
            raise (classify_edit(exc, in_thread=forum_thread is not None) or classify(exc)) from exc

    async def delete_post(
        self, channel_id: int, message_id: int, *, forum_thread: int | None = None
    ) -> None:
        try:
            if forum_thread is not None:
                await (await fetch_forum_thread(self.client, forum_thread)).delete()
                return
            partial = self.client.get_partial_messageable(channel_id)
            await partial.get_partial_message(message_id).delete()
        except DeliveryError:
            raise
        except Exception as exc:
            raise (classify_edit(exc, in_thread=forum_thread is not None) or classify(exc)) from exc

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
