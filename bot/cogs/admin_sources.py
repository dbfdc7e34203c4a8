"""/newsadmin source add|remove|test and /newsadmin sources: the feeds this server added.

A mixin of the /newsadmin cog (one command group; its moderator check runs first). Thin:
defer, call SourceManager, render. Answers are private: a feed's URL is for moderators.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.admin_options import Duration, TopicText
from bot.cogs.admin_render import topics_list, when
from bot.domain.server_sources import MAX_INTERVAL, MIN_INTERVAL
from bot.domain.text import quality_text
from bot.domain.values import format_duration
from bot.services.admin import Actor
from bot.services.sources.manage import FeedTrial, SourceManager
from bot.services.sources.status_text import state_line
from bot.settings.sources import DEFAULT_FEED_INTERVAL, DEFAULT_FEED_QUALITY

FeedUrl = app_commands.Range[str, 1, 2000]
TESTS_PER_MINUTE = 5  # /newsadmin source test, per server
FeedQuality = app_commands.Range[float, 0, 100]
QUALITY_HELP = (
    f"The quality every item gets (default {DEFAULT_FEED_QUALITY}; subscriptions post from "
    "min_quality 0 by default, so new ones post them)"
)
INTERVAL_HELP = (
    f"How often to fetch it, {format_duration(MIN_INTERVAL)} to {format_duration(MAX_INTERVAL)} "
    f"(default {format_duration(DEFAULT_FEED_INTERVAL)})"
)


class SourceCommands(commands.Cog):
    """Needs ``self.sources`` and ``self.actor`` (the /newsadmin cog has both)."""

    sources: SourceManager
    actor: Any  # the cog's staticmethod: Interaction -> Actor

    source = app_commands.Group(name="source", description="Feeds this server adds itself")

    async def complete_source(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        urls = await self.sources.urls(interaction.guild_id, current)
        return [app_commands.Choice(name=u[:100], value=u) for u in urls[:25] if len(u) <= 100]

    @source.command(name="add", description="Add a feed (RSS, Atom or JSON Feed) for this server")
    @app_commands.describe(
        url="The feed's address (http or https)",
        topics="Comma-separated topics added to every item, e.g. AI, Robotics",
        quality=QUALITY_HELP,
        interval=INTERVAL_HELP,
    )
    async def source_add(
        self,
        interaction: discord.Interaction[Any],
        url: FeedUrl,
        topics: TopicText | None = None,
        quality: FeedQuality | None = None,
        interval: Duration | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor: Actor = self.actor(interaction)
        added = await self.sources.add(actor, url, topics_list(topics), quality, interval)
        topics_text = f", topics {', '.join(added.topics)}" if added.topics else ""
        await interaction.followup.send(
            f"✅ Added <{added.url}> (quality {quality_text(added.quality)}{topics_text}, "
            f"fetched every {format_duration(added.interval)}). Its articles are posted and "
            "shown in this server only; the first fetch is within a minute. "
            "`/newsadmin sources` shows how it goes.",
            ephemeral=True,
        )

    @source.command(name="remove", description="Stop fetching one of this server's feeds")
    @app_commands.describe(url="The feed (its articles stay: nothing is withdrawn)")
    @app_commands.autocomplete(url=complete_source)
    async def source_remove(self, interaction: discord.Interaction[Any], url: FeedUrl) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.sources.remove(self.actor(interaction), url)
        await interaction.followup.send(
            f"🗑️ Removed <{removed.url}>: it is not fetched any more. Its articles stay.",
            ephemeral=True,
        )

    @source.command(name="test", description="Fetch a feed once and show what it would add")
    # Each test fetches a URL a moderator typed: a server cannot make the bot hammer a site.
    @app_commands.checks.cooldown(TESTS_PER_MINUTE, 60.0, key=lambda i: i.guild_id)
    @app_commands.describe(
        url="The feed's address (http or https); nothing is stored",
        topics="Comma-separated topics added to every item",
        quality=QUALITY_HELP,
    )
    async def source_test(
        self,
        interaction: discord.Interaction[Any],
        url: FeedUrl,
        topics: TopicText | None = None,
        quality: FeedQuality | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        trial = await self.sources.trial(url, topics_list(topics), quality)
        await interaction.followup.send(trial_text(trial)[:2000], ephemeral=True)

    @app_commands.command(name="sources", description="This server's feeds and how they are doing")
    async def sources_list(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor: Actor = self.actor(interaction)
        listing = await self.sources.listing(actor.guild_id)
        lines = [
            f"**{len(listing)} of {self.sources.limit} feeds added in this server**"
            + ("" if listing else ": `/newsadmin source add` adds one.")
        ]
        for source, state in listing:
            lines.append(f"• <{source.url}>: {state_line(state, _when)}")
        if self.sources.shared:
            lines.append(f"\nAnd {self.sources.shared} sources from the bot's config, shared.")
        for message in messages(lines):  # 50 feeds do not fit in one
            await interaction.followup.send(message, ephemeral=True)


def messages(lines: list[str], limit: int = 2000) -> list[str]:
    """``lines`` in as few messages as Discord's limit allows (a longer line is cut)."""
    out: list[str] = []
    for line in lines:
        line = line[:limit]
        if out and len(out[-1]) + 1 + len(line) <= limit:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def _when(moment: datetime | None) -> str:
    return when(moment) if moment else "never"


def trial_text(trial: FeedTrial) -> str:
    name = f" — {discord.utils.escape_markdown(trial.title[:100])}" if trial.title else ""
    lines = [
        f"**<{trial.url}>{name}**: {trial.total} items it would add "
        f"(HTTP {trial.status}; nothing was stored)"
    ]
    for article in trial.items:
        topics = f" [{', '.join(article.topics)}]" if article.topics else ""
        title = discord.utils.escape_markdown(article.title[:150] + topics)  # untrusted
        lines.append(f"• {title} — <{article.url}>")
    if trial.total > len(trial.items):
        lines.append(f"… and {trial.total - len(trial.items)} more")
    for rejection in trial.rejected[:5]:
        text = discord.utils.escape_markdown(f"{rejection.item or 'an item'}: {rejection.error}")
        lines.append(f"⚠️ rejected {text}"[:300])
    if len(trial.rejected) > 5:
        lines.append(f"… and {len(trial.rejected) - 5} more rejected")
    return "\n".join(lines)
