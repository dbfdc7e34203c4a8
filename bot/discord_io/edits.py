"""Editing a post in place: a message in a channel, or a forum post's starter message.

Discord refuses edits in archived threads (50083) and locked ones (160005). An archived forum
post is unarchived, edited and archived again (which bumps it in the forum's list, as any
activity does); a locked one is left alone. A forum post's name follows the title when it
differs, best effort: Discord allows a thread about two renames per ten minutes, and a rename
it refuses for longer than discord.py waits (``max_ratelimit_timeout``) is skipped.
"""

from __future__ import annotations

import logging

import discord

from bot.discord_io.render import post_embeds, post_view
from bot.domain.posts import PostSpec
from bot.services.publishing.ports import (
    ChannelUnavailable,
    DeliveryError,
    Edited,
    PostGone,
    PostLocked,
    RateLimited,
    TransientError,
)

log = logging.getLogger(__name__)

UNKNOWN_CHANNEL, UNKNOWN_MESSAGE = 10003, 10008
ANNOUNCEMENT_EDIT_LIMIT = 20022  # edits of crossposted messages are throttled on their own
THREAD_ARCHIVED, THREAD_LOCKED = 50083, 160005


def classify_edit(exc: Exception, *, in_thread: bool) -> DeliveryError | None:
    """What an edit's failure means; None: not an edit-specific case, which poster.classify
    maps as for posts (429s and discord.RateLimited included)."""
    if not isinstance(exc, discord.HTTPException):
        return None
    if exc.code == ANNOUNCEMENT_EDIT_LIMIT:
        return RateLimited(f"crossposted messages are edited too fast ({exc.code})", exc.code)
    if exc.code == UNKNOWN_MESSAGE or (in_thread and exc.code == UNKNOWN_CHANNEL):
        return PostGone(f"the post was deleted ({exc.code})", exc.code)
    if exc.code == THREAD_LOCKED:
        return PostLocked(f"the forum post is locked ({exc.code})", exc.code)
    if exc.code == THREAD_ARCHIVED:  # archived again between our unarchive and the edit
        return TransientError(f"the forum post was archived meanwhile ({exc.code})", exc.code)
    if exc.code == UNKNOWN_CHANNEL:
        return ChannelUnavailable(f"the channel no longer exists ({exc.code})", exc.code)
    return None


async def edit_message(
    messageable: discord.abc.Messageable, message_id: int, post: PostSpec
) -> None:
    """The embed and buttons only: the content (a role mention) stays, and pings nobody."""
    await messageable.get_partial_message(message_id).edit(  # type: ignore[attr-defined]
        embeds=post_embeds(post),
        view=post_view(post),
        allowed_mentions=discord.AllowedMentions.none(),
    )


async def forum_thread(client: discord.Client, thread_id: int) -> discord.Thread:
    """The forum post's thread, from the cache or (archived ones are not cached) from Discord."""
    cached = client.get_channel(thread_id)
    if isinstance(cached, discord.Thread):
        return cached
    fetched = await client.fetch_channel(thread_id)
    if not isinstance(fetched, discord.Thread):
        raise PostGone(f"channel {thread_id} is no longer a forum post")
    return fetched


async def edit_forum_post(
    client: discord.Client, thread_id: int, message_id: int, post: PostSpec, name: str | None
) -> Edited:
    thread = await forum_thread(client, thread_id)
    if thread.locked:
        raise PostLocked("the forum post is locked")
    archived = thread.archived
    if archived:
        thread = await thread.edit(archived=False)
    try:
        await edit_message(thread, message_id, post)
        return await _rename(thread, name)
    finally:
        if archived:
            try:
                await thread.edit(archived=True)
            except (discord.HTTPException, discord.RateLimited) as exc:
                # Discord archives it again itself once idle for its archive duration.
                log.warning("could not archive forum post %s again: %s", thread.id, exc)


async def _rename(thread: discord.Thread, name: str | None) -> Edited:
    if name is None or thread.name == name:
        return Edited()
    try:
        await thread.edit(name=name)
    except discord.RateLimited as exc:
        log.info("not renaming forum post %s: rate limited for %.0fs", thread.id, exc.retry_after)
        return Edited(renamed=False)
    except discord.HTTPException as exc:
        if exc.status != 429:
            raise
        log.info("not renaming forum post %s: rate limited", thread.id)
        return Edited(renamed=False)
    return Edited(renamed=True)
