"""PostSpec (plain data from bot.domain.posts) to discord.py objects."""

from __future__ import annotations

import discord

from bot.discord_io.views import RelatedButton
from bot.domain.posts import PostSpec


def post_embeds(post: PostSpec) -> list[discord.Embed]:
    return [discord.Embed.from_dict(embed) for embed in post.embeds]


def post_view(post: PostSpec) -> discord.ui.View:
    """The buttons under a post: a link to the article and the persistent related button;
    under a digest, a related button per article (labelled with its place) instead.

    The view is stopped before sending: clicks are routed by the globally registered
    RelatedButton template (which survives restarts), not by this object, so nothing is kept
    in memory per message.
    """
    view = discord.ui.View(timeout=None)
    if post.link_button:
        view.add_item(discord.ui.Button(label=post.link_button.label, url=post.link_button.url))
    if post.article_id is not None:
        view.add_item(RelatedButton(post.article_id))
    for choice in post.related_buttons:
        view.add_item(RelatedButton(choice.article_id, choice.label))
    view.stop()
    return view


def allowed_mentions(post: PostSpec) -> discord.AllowedMentions:
    """Nobody is pinged, except the subscription's own role when it has one."""
    roles: list[discord.abc.Snowflake] | bool = (
        [discord.Object(post.mention_role_id)] if post.mention_role_id else False
    )
    return discord.AllowedMentions(everyone=False, users=False, roles=roles, replied_user=False)
