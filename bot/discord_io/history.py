"""Finding the bot's own post for an article after a crash or an unanswered request.

In a channel: its history from just before the first attempt. In a forum, where a post takes
no nonce: the forum's active and archived threads that the bot started in the window, each
checked by its starter message. Either way a post is recognised by the article's button or by
its embed's URL, never by its title, which may have changed since.
"""

from __future__ import annotations

from datetime import datetime

import discord

from bot.domain.posts import PostSpec
from bot.domain.urls import InvalidURLError, canonical_url
from bot.services.publishing.ports import HistoryUnavailable, Posted, TransientError


async def find_post(
    client: discord.Client, channel_id: int, post: PostSpec, since: datetime, until: datetime
) -> Posted | None:
    """The bot's message or forum post for ``post`` made in [since, until], if any. Raises
    HistoryUnavailable without Read Message History (which Discord answers with an empty
    history, not a refusal: "not found" would then be a lie), and discord.py's errors."""
    me = client.user
    if me is None:
        raise TransientError("not logged in")
    channel = client.get_channel(channel_id)
    if (
        isinstance(channel, discord.abc.GuildChannel | discord.Thread)
        and not channel.permissions_for(channel.guild.me).read_message_history
    ):
        raise HistoryUnavailable("missing Read Message History")
    if isinstance(channel, discord.ForumChannel):
        return await _in_forum(channel, me.id, post, since, until)
    if isinstance(channel, discord.abc.Messageable):
        messageable: discord.abc.Messageable = channel
    else:
        messageable = client.get_partial_messageable(channel_id)
    async for message in messageable.history(limit=None, after=since, oldest_first=True):
        if message.created_at > until:
            return None
        if message.author.id == me.id and is_post(message, post):
            return Posted(message.id)
    return None


async def _in_forum(
    forum: discord.ForumChannel, me: int, post: PostSpec, since: datetime, until: datetime
) -> Posted | None:
    threads = [t for t in await forum.guild.active_threads() if t.parent_id == forum.id]
    async for thread in forum.archived_threads(limit=None):
        if thread.archive_timestamp < since:
            break  # archived before the first attempt: started before it too
        threads.append(thread)
    for thread in threads:
        started = discord.utils.snowflake_time(thread.id)
        if thread.owner_id != me or not since <= started <= until:
            continue
        try:
            starter = await thread.fetch_message(thread.id)
        except discord.NotFound:
            continue  # its starter message was deleted: not a post that stands
        if is_post(starter, post):
            return Posted(starter.id, thread.id)
    return None


def is_post(message: discord.Message, post: PostSpec) -> bool:
    """The bot's own message for this article: its button id, or its embed's URL. A digest:
    a message with an embed of any of its articles (each article is in one digest only) and
    of no other. Never an answer to an interaction (a public ``/news`` answer shows the same
    articles, and is the bot's message too)."""
    if message.interaction_metadata is not None or message.webhook_id is not None:
        return False
    if post.digest_urls:
        return _carries_only(message, post.digest_urls)
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


def _carries_only(message: discord.Message, urls: tuple[str, ...]) -> bool:
    """Some of the message's embeds link these URLs, and none links another."""
    linked = []
    for embed in message.embeds:
        if not embed.url:
            continue
        try:
            linked.append(canonical_url(embed.url))
        except InvalidURLError:
            return False
    return bool(linked) and all(url in urls for url in linked)
