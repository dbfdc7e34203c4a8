"""What the gateway cache says about a channel: its kind, its tags, what the bot may do there.

Permissions are read here, before any request, so a missing one is named to the moderators
rather than met as a 403 in the middle of a run.
"""

from __future__ import annotations

from dataclasses import replace

import discord

from bot.domain.threads import ChannelKind, ForumTag
from bot.services.publishing.ports import ChannelInfo


def channel_kind(channel: object) -> ChannelKind | None:
    """None: not a channel Newsdesk can post in (a category, a stage, a directory)."""
    if isinstance(channel, discord.ForumChannel):
        return ChannelKind.MEDIA if channel.is_media() else ChannelKind.FORUM
    if isinstance(channel, discord.TextChannel):
        return ChannelKind.ANNOUNCEMENT if channel.is_news() else ChannelKind.TEXT
    if isinstance(channel, discord.Thread):
        return ChannelKind.THREAD
    if isinstance(channel, discord.VoiceChannel):
        return ChannelKind.VOICE
    return None


def channel_info(client: discord.Client, channel_id: int) -> ChannelInfo | None:
    channel = client.get_channel(channel_id)
    if channel is None or isinstance(channel, discord.abc.PrivateChannel):
        return None
    name = f"#{channel.name}"
    kind = channel_kind(channel)
    if kind is None:
        return ChannelInfo(channel.guild.id, name, "not a text or forum channel")
    perms = channel.permissions_for(channel.guild.me)
    if kind is ChannelKind.THREAD:
        send = ("Send Messages in Threads", perms.send_messages_in_threads)
    elif kind.forum:
        send = ("Send Messages (Create Posts)", perms.send_messages)
    else:
        send = ("Send Messages", perms.send_messages)
    needed = [("View Channel", perms.view_channel), send, ("Embed Links", perms.embed_links)]
    # Discord takes away what depends on a missing permission (no Send Messages: no Embed
    # Links either); name only the first missing one, the one to grant.
    missing = next((what for what, granted in needed if not granted), None)
    problem = f"missing permissions: {missing}" if missing else None
    info = ChannelInfo(channel.guild.id, name, problem, kind, may_moderate=perms.manage_threads)
    if isinstance(channel, discord.ForumChannel):
        tags = tuple(ForumTag(t.id, t.name, t.moderated) for t in channel.available_tags)
        return replace(info, tags=tags, requires_tag=channel.flags.require_tag)
    if not perms.create_public_threads:
        return replace(info, thread_problem="missing permissions: Create Public Threads")
    return info
