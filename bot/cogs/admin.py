"""/newsadmin: moderator control of publishing. Thin: check, defer, call AdminService, render.

Discord shows /newsadmin only to members with Manage Server (``default_member_permissions``),
but server admins can change that in Integrations, so every command also checks at run time
(Manage Server, or one of the server's moderator roles) before anything else happens. A
refusal is private and changes nothing.
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
from bot.cogs.admin_render import preview_embed, status_lines, topics_list
from bot.cogs.admin_sources import SourceCommands
from bot.discord_io.tree import NotModeratorError
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
from bot.services.admin import Actor, AdminService
from bot.services.news import NewsService
from bot.services.sources.manage import SourceManager

EMBED_LINES = 30


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(
    SourceCommands,
    commands.GroupCog,
    group_name="newsadmin",
    group_description="Moderators: control publishing",
):
    publishing = app_commands.Group(
        name="publishing", description="Switch publishing on or off, or see its status"
    )

    def __init__(self, admin: AdminService, news: NewsService, sources: SourceManager) -> None:
        self.admin = admin
        self.news = news
        self.sources = sources
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Runs before every /newsadmin command: moderators only, decided before deferring."""
        member = interaction.user
        if interaction.guild_id is None or not isinstance(member, discord.Member):
            raise app_commands.NoPrivateMessage()
        allowed = await self.admin.is_moderator(
            interaction.guild_id,
            [role.id for role in member.roles],
            # what Discord resolved for this interaction (owner and Administrator included)
            interaction.permissions.manage_guild or member.guild_permissions.manage_guild,
        )
        if not allowed:
            raise NotModeratorError()
        return True

    @staticmethod
    def actor(interaction: discord.Interaction[Any]) -> Actor:
        assert interaction.guild_id is not None
        return Actor(interaction.guild_id, interaction.user.id, str(interaction.user))

    def _channel(self, interaction: discord.Interaction[Any], channel: Any | None) -> int:
        if channel is not None:
            return int(channel.id)
        if isinstance(interaction.channel, discord.Thread):  # a forum post, a discussion
            return interaction.channel.parent_id
        assert interaction.channel_id is not None
        return interaction.channel_id

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

    # ------------------------------------------------------------------ publishing on/off/status

    @publishing.command(name="on", description="Switch publishing on, for the server or a channel")
    @app_commands.describe(channel="Only this channel's subscription (default: the whole server)")
    async def publishing_on(
        self, interaction: discord.Interaction[Any], channel: Channel | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await self.admin.set_publishing(
            self.actor(interaction), channel.id if channel else None, True
        )
        await interaction.followup.send(f"✅ {text[0].upper()}{text[1:]}.", ephemeral=True)

    @publishing.command(
        name="off", description="Switch publishing off, for the server or a channel"
    )
    @app_commands.describe(channel="Only this channel's subscription (default: the whole server)")
    async def publishing_off(
        self, interaction: discord.Interaction[Any], channel: Channel | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await self.admin.set_publishing(
            self.actor(interaction), channel.id if channel else None, False
        )
        await interaction.followup.send(
            f"⏸️ {text[0].upper()}{text[1:]}. Nothing is lost: held articles go out when it is "
            "switched back on.",
            ephemeral=True,
        )

    @publishing.command(name="status", description="Is publishing on, what went out, what is next")
    @app_commands.describe(channel="Only this channel's subscription (default: all of them)")
    async def publishing_status(
        self, interaction: discord.Interaction[Any], channel: Channel | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        statuses = await self.admin.status(interaction.guild_id, channel.id if channel else None)
        server_on = await self.admin.server_publishing(interaction.guild_id)
        lines = [f"Publishing for this server is **{'on' if server_on else 'off'}**."]
        if not statuses:
            lines.append("No subscriptions yet: `/newsadmin subscribe` creates one.")
        for status in statuses:
            lines.extend(status_lines(status))
        embed = discord.Embed(
            title="Publishing status", description="\n".join(lines)[:4000], colour=0x2B6CB0
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    # ------------------------------------------------------------------ subscriptions

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

    # ------------------------------------------------------------------ runs

    @app_commands.command(
        name="preview", description="What the next run would post, and why not the rest"
    )
    @app_commands.describe(channel="The subscribed channel (default: this one)")
    async def preview(
        self, interaction: discord.Interaction[Any], channel: Channel | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        result = await self.admin.preview(interaction.guild_id, self._channel(interaction, channel))
        await interaction.followup.send(embed=preview_embed(result), ephemeral=True)

    @app_commands.command(name="post-now", description="Run a channel's publishing now")
    @app_commands.describe(channel="The subscribed channel (default: this one)")
    async def post_now(
        self, interaction: discord.Interaction[Any], channel: Channel | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        target = self._channel(interaction, channel)
        report = await self.admin.post_now(self.actor(interaction), target)
        if report.not_run:
            text = f"Nothing was posted to <#{target}>: {report.not_run}."
        elif report.error:
            text = f"Posted {len(report.posted)} to <#{target}>, then stopped: {report.error}."
        else:
            text = f"✅ Posted {len(report.posted)} article(s) to <#{target}>."
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="ingest", description="Re-scan the article sources now")
    async def ingest(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        summary = await self.admin.ingest(self.actor(interaction))
        lines = [f"✅ {summary.describe()}"]
        for rejection in summary.rejected[:10]:
            lines.append(f"• rejected {discord.utils.escape_markdown(str(rejection))[:300]}")
        if len(summary.rejected) > 10:
            lines.append(f"… and {len(summary.rejected) - 10} more rejected files")
        await interaction.followup.send("\n".join(lines)[:2000], ephemeral=True)

    # ------------------------------------------------------------------ settings

    @app_commands.command(
        name="settings", description="This server's log channel and moderator roles"
    )
    @app_commands.describe(
        log_channel="Announce alerts and moderator actions here",
        no_log_channel="Use the default log channel from the bot's config",
        add_moderator_role="Members with this role may use /newsadmin",
        remove_moderator_role="Members with this role may no longer use /newsadmin",
    )
    async def settings(
        self,
        interaction: discord.Interaction[Any],
        log_channel: discord.TextChannel | None = None,
        no_log_channel: bool = False,
        add_moderator_role: discord.Role | None = None,
        remove_moderator_role: discord.Role | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor = self.actor(interaction)
        await self.admin.update_settings(
            actor,
            log_channel_id=log_channel.id if log_channel else None,
            clear_log_channel=no_log_channel,
            add_role=add_moderator_role.id if add_moderator_role else None,
            remove_role=remove_moderator_role.id if remove_moderator_role else None,
        )
        log_id, roles = await self.admin.settings_summary(actor.guild_id)
        await interaction.followup.send(
            "Log channel: "
            + (f"<#{log_id}>" if log_id else "none")
            + "\nModerator roles: "
            + (", ".join(f"<@&{r}>" for r in roles) if roles else "none (Manage Server only)"),
            ephemeral=True,
        )
