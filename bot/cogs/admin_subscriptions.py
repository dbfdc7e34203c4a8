"""/newsadmin subscribe | edit | unsubscribe | subscriptions: a server's subscriptions.

A mixin of the /newsadmin cog (one command group; its moderator check runs first). Thin:
parse the options, defer, call AdminService, render.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.admin_options import (
    ARCHIVE_CHOICES,
    ARCHIVE_HELP,
    DIGEST_SIZE_DEFAULT,
    DIGEST_SIZE_HELP,
    EDIT_WINDOW_HELP,
    EDITS_HELP,
    EXCLUDE_KEYWORDS_HELP,
    KEYWORDS_HELP,
    MODE_CHOICES,
    MODE_HELP,
    REMOVED_CHOICES,
    REMOVED_HELP,
    TAG_CHOICES,
    TAGS_HELP,
    THREAD_HELP,
    Channel,
    DigestSize,
    Duration,
    KeywordText,
    PerRun,
    Quality,
    TopicText,
    post_options,
)
from bot.cogs.admin_render import topics_list
from bot.domain.keywords import entries_of
from bot.domain.subscription import (
    DEFAULT_EDIT_WINDOW,
    DEFAULT_INTERVAL,
    DEFAULT_MAX_AGE,
    DEFAULT_MIN_QUALITY,
    DEFAULT_PER_RUN,
    DEFAULT_THREAD_ARCHIVE,
)
from bot.domain.subscription_text import describe
from bot.domain.values import format_duration
from bot.services.admin import AdminService
from bot.services.news import NewsService


class SubscriptionCommands(commands.Cog):
    """Needs ``self.admin``, ``self.news`` and ``self.actor`` (the /newsadmin cog has them)."""

    admin: AdminService
    news: NewsService
    actor: Any  # the cog's staticmethod: Interaction -> Actor

    async def complete_topics(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Complete the last of comma-separated topics."""
        head, _, last = current.rpartition(",")
        prefix = f"{head.strip()}, " if head.strip() else ""
        found = await self.news.complete_topic(last.strip(), guild=interaction.guild_id)
        return [
            app_commands.Choice(name=(prefix + t.name)[:100], value=(prefix + t.name)[:100])
            for t in found[:25]
        ]

    @app_commands.command(name="subscribe", description="Post news to a channel")
    @app_commands.describe(
        channel="The channel to post in",
        topics="Comma-separated topics (default: every topic)",
        min_quality=f"Only articles with at least this quality (default {DEFAULT_MIN_QUALITY:g})",
        max_per_run=f"At most this many posts per run (default {DEFAULT_PER_RUN})",
        interval=f"How often to post, e.g. 30m, 2h (default {format_duration(DEFAULT_INTERVAL)})",
        max_age="Never post articles older than this, e.g. 7d, or none (default "
        f"{format_duration(DEFAULT_MAX_AGE)})",
        thread=f"{THREAD_HELP} (default off)",
        thread_archive=f"{ARCHIVE_HELP} (default {DEFAULT_THREAD_ARCHIVE})",
        forum_tags=f"{TAGS_HELP} (default auto)",
        edits=f"{EDITS_HELP} (default on)",
        edit_window=f"{EDIT_WINDOW_HELP} (default {format_duration(DEFAULT_EDIT_WINDOW)})",
        on_removed=f"{REMOVED_HELP} (default keep)",
        keywords=KEYWORDS_HELP,
        exclude_keywords=EXCLUDE_KEYWORDS_HELP,
        mode=f"{MODE_HELP} (default posts)",
        digest_size=DIGEST_SIZE_HELP + DIGEST_SIZE_DEFAULT,
    )
    @app_commands.autocomplete(topics=complete_topics)
    @app_commands.choices(
        thread_archive=ARCHIVE_CHOICES,
        forum_tags=TAG_CHOICES,
        on_removed=REMOVED_CHOICES,
        mode=MODE_CHOICES,
    )
    async def subscribe(
        self,
        interaction: discord.Interaction[Any],
        channel: Channel,
        topics: TopicText | None = None,
        min_quality: Quality | None = None,
        max_per_run: PerRun | None = None,
        interval: Duration | None = None,
        max_age: Duration | None = None,
        thread: bool | None = None,
        thread_archive: app_commands.Choice[str] | None = None,
        forum_tags: app_commands.Choice[str] | None = None,
        edits: bool | None = None,
        edit_window: Duration | None = None,
        on_removed: app_commands.Choice[str] | None = None,
        keywords: KeywordText | None = None,
        exclude_keywords: KeywordText | None = None,
        mode: app_commands.Choice[str] | None = None,
        digest_size: DigestSize | None = None,
    ) -> None:
        given = {
            "topics": topics_list(topics) if topics is not None else None,
            "min_quality": min_quality,
            "max_per_run": max_per_run,
            "interval": interval,
            "max_age": max_age,
            "keywords": entries_of(keywords) if keywords else None,
            "exclude_keywords": entries_of(exclude_keywords) if exclude_keywords else None,
        }
        options = {key: value for key, value in given.items() if value is not None}
        options |= post_options(
            thread, thread_archive, forum_tags, edits, edit_window, on_removed, mode, digest_size
        )
        spec = self.admin.new_spec({"channel_id": channel.id, **options})  # the spec's defaults
        await interaction.response.defer(ephemeral=True, thinking=True)
        sub = await self.admin.subscribe(self.actor(interaction), spec)
        await interaction.followup.send(
            f"✅ Subscribed {channel.mention}: {describe(sub.spec)}.", ephemeral=True
        )

    @app_commands.command(name="edit", description="Change a channel's subscription")
    @app_commands.describe(
        channel="The subscribed channel",
        topics="Comma-separated topics, or * for every topic",
        exclude_topics="Comma-separated topics never to post, or - for none",
        min_quality="Only articles with at least this quality",
        max_per_run="At most this many posts per run",
        interval="How often to post, e.g. 30m, 2h",
        max_age="Never post articles older than this, e.g. 7d, or none",
        mention_role="Ping this role with each post",
        no_mention="Stop pinging a role",
        crosspost="In announcement channels, publish each post to followers",
        thread=THREAD_HELP,
        thread_archive=ARCHIVE_HELP,
        forum_tags=TAGS_HELP,
        edits=EDITS_HELP,
        edit_window=EDIT_WINDOW_HELP,
        on_removed=REMOVED_HELP,
        keywords=f"{KEYWORDS_HELP}, or - for none",
        exclude_keywords=f"{EXCLUDE_KEYWORDS_HELP}, or - for none",
        mode=MODE_HELP,
        digest_size=DIGEST_SIZE_HELP,
    )
    @app_commands.autocomplete(topics=complete_topics, exclude_topics=complete_topics)
    @app_commands.choices(
        thread_archive=ARCHIVE_CHOICES,
        forum_tags=TAG_CHOICES,
        on_removed=REMOVED_CHOICES,
        mode=MODE_CHOICES,
    )
    async def edit(
        self,
        interaction: discord.Interaction[Any],
        channel: Channel,
        topics: TopicText | None = None,
        exclude_topics: TopicText | None = None,
        min_quality: Quality | None = None,
        max_per_run: PerRun | None = None,
        interval: Duration | None = None,
        max_age: Duration | None = None,
        mention_role: discord.Role | None = None,
        no_mention: bool = False,
        crosspost: bool | None = None,
        thread: bool | None = None,
        thread_archive: app_commands.Choice[str] | None = None,
        forum_tags: app_commands.Choice[str] | None = None,
        edits: bool | None = None,
        edit_window: Duration | None = None,
        on_removed: app_commands.Choice[str] | None = None,
        keywords: KeywordText | None = None,
        exclude_keywords: KeywordText | None = None,
        mode: app_commands.Choice[str] | None = None,
        digest_size: DigestSize | None = None,
    ) -> None:
        changes = post_options(
            thread, thread_archive, forum_tags, edits, edit_window, on_removed, mode, digest_size
        )
        if topics is not None:
            changes["topics"] = () if topics.strip() == "*" else topics_list(topics)
        if exclude_topics is not None:
            changes["exclude_topics"] = (
                () if exclude_topics.strip() == "-" else topics_list(exclude_topics)
            )
        if min_quality is not None:
            changes["min_quality"] = min_quality
        if max_per_run is not None:
            changes["max_per_run"] = max_per_run
        if interval is not None:
            changes["interval"] = interval
        if max_age is not None:
            changes["max_age"] = max_age
        if mention_role is not None:
            changes["mention_role_id"] = mention_role.id
        if no_mention:
            changes["mention_role_id"] = None
        if crosspost is not None:
            changes["crosspost"] = crosspost
        for key, text in (("keywords", keywords), ("exclude_keywords", exclude_keywords)):
            if text is not None:
                changes[key] = () if text.strip() == "-" else entries_of(text)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sub = await self.admin.edit(self.actor(interaction), channel.id, changes)
        await interaction.followup.send(
            f"✅ {channel.mention}: {describe(sub.spec)}.", ephemeral=True
        )

    @app_commands.command(name="unsubscribe", description="Stop posting news to a channel")
    @app_commands.describe(channel="The subscribed channel")
    async def unsubscribe(self, interaction: discord.Interaction[Any], channel: Channel) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await self.admin.unsubscribe(self.actor(interaction), channel.id)
        await interaction.followup.send(f"✅ {text[0].upper()}{text[1:]}.", ephemeral=True)

    @app_commands.command(name="subscriptions", description="This server's subscriptions")
    async def subscriptions(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        subs = await self.admin.standings(interaction.guild_id)
        if not subs:
            await interaction.followup.send(
                "No subscriptions yet: `/newsadmin subscribe` creates one.", ephemeral=True
            )
            return
        lines = [f"**<#{sub.channel_id}>** ({where}) — {describe(sub.spec)}" for sub, where in subs]
        embed = discord.Embed(
            title="Subscriptions", description="\n".join(lines)[:4000], colour=0x2B6CB0
        )
        await interaction.followup.send(embed=embed, ephemeral=True)
