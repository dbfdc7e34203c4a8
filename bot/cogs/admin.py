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
    Channel,
)
from bot.cogs.admin_render import preview_embed, status_lines
from bot.cogs.admin_sources import SourceCommands
from bot.cogs.admin_subscriptions import SubscriptionCommands
from bot.discord_io.tree import NotModeratorError
from bot.services.admin import Actor, AdminService
from bot.services.news import NewsService
from bot.services.sources.manage import SourceManager

EMBED_LINES = 30


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(
    SubscriptionCommands,
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
