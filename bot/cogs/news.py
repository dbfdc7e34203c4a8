"""/news: browse the archive. Thin: validate, defer, call NewsService, render."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_io.pagination import Paginator
from bot.domain.listings import related_embed, summary_embed, topics_embed
from bot.services.news import NewsService, Page
from bot.store.browse import Sort

CHOICE_NAME_LIMIT = 100


def _choice_name(text: str) -> str:
    text = " ".join(text.split()) or "Untitled"
    return text if len(text) <= CHOICE_NAME_LIMIT else text[: CHOICE_NAME_LIMIT - 1] + "…"


def _embeds(page: Page) -> list[discord.Embed]:
    return [
        discord.Embed.from_dict(
            summary_embed(
                title=a.title,
                url=a.url,
                provider=a.provider,
                published_at=a.published_at,
                quality=a.quality,
            )
        )
        for a in page.items
    ]


def _content(heading: str, page: Page) -> str:
    if not page.items and page.number == 0:
        return f"{heading}: nothing found."
    return f"{heading} · page {page.number + 1}"


class NewsCog(commands.GroupCog, group_name="news", group_description="Browse the news archive"):
    def __init__(self, news: NewsService) -> None:
        self.news = news
        super().__init__()

    # ------------------------------------------------------------------ autocomplete

    async def complete_topic(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        topics = await self.news.complete_topic(current, guild=interaction.guild_id)
        return [
            app_commands.Choice(name=_choice_name(f"{t.name} ({t.articles:,})"), value=t.name[:100])
            for t in topics[:25]
        ]

    async def complete_article(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        found = await self.news.complete_article(current, guild=interaction.guild_id)
        return [
            app_commands.Choice(
                name=_choice_name(f"{a.title} — {a.published_at:%Y-%m-%d}"), value=str(a.id)
            )
            for a in found[:25]
        ]

    # ------------------------------------------------------------------ commands

    @app_commands.command(name="topic", description="The best or the latest articles in a topic")
    @app_commands.describe(
        topic="A topic: start typing and pick one",
        sort="Best first (default) or newest first",
        ephemeral="Show the answer only to you",
    )
    @app_commands.choices(
        sort=[
            app_commands.Choice(name="best first", value="quality"),
            app_commands.Choice(name="newest first", value="recent"),
        ]
    )
    @app_commands.autocomplete(topic=complete_topic)
    async def topic(
        self,
        interaction: discord.Interaction[Any],
        topic: app_commands.Range[str, 1, 100],
        sort: app_commands.Choice[str] | None = None,
        ephemeral: bool = False,
    ) -> None:
        topic_id, name = await self.news.resolve_topic(topic)  # fast; errors stay private
        guild = interaction.guild_id  # each server sees its own sources' articles
        order: Sort = "recent" if sort is not None and sort.value == "recent" else "quality"
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        heading = f"**{name}** — {'newest' if order == 'recent' else 'best'} first"

        async def render(number: int) -> tuple[str, list[discord.Embed], bool]:
            page = await self.news.topic_page(topic_id, order, number, guild=guild)
            return _content(heading, page), _embeds(page), page.has_next

        await Paginator(interaction.user.id, render).send(interaction, ephemeral=ephemeral)

    @app_commands.command(name="latest", description="The newest articles, in one topic or all")
    @app_commands.describe(
        topic="Only this topic (optional)", ephemeral="Show the answer only to you"
    )
    @app_commands.autocomplete(topic=complete_topic)
    async def latest(
        self,
        interaction: discord.Interaction[Any],
        topic: app_commands.Range[str, 1, 100] | None = None,
        ephemeral: bool = False,
    ) -> None:
        resolved = await self.news.resolve_topic(topic) if topic else None
        guild = interaction.guild_id
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        heading = f"**Latest in {resolved[1]}**" if resolved else "**Latest articles**"

        async def render(number: int) -> tuple[str, list[discord.Embed], bool]:
            topic_id = resolved[0] if resolved else None
            page = await self.news.latest_page(topic_id, number, guild=guild)
            return _content(heading, page), _embeds(page), page.has_next

        await Paginator(interaction.user.id, render).send(interaction, ephemeral=ephemeral)

    @app_commands.command(name="search", description="Search the archive, best matches first")
    @app_commands.describe(
        query="Words to find in titles, excerpts, topics and providers",
        topic="Only this topic (optional)",
        ephemeral="Show the answer only to you",
    )
    @app_commands.autocomplete(topic=complete_topic)
    async def search(
        self,
        interaction: discord.Interaction[Any],
        query: app_commands.Range[str, 1, 200],
        topic: app_commands.Range[str, 1, 100] | None = None,
        ephemeral: bool = False,
    ) -> None:
        resolved = await self.news.resolve_topic(topic) if topic else None
        guild = interaction.guild_id
        # raises for unsearchable text
        first = await self.news.search_page(query, resolved, 0, guild=guild)
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        shown = discord.utils.escape_markdown(" ".join(query.split()))[:100]
        heading = f"**Search:** {shown}" + (f" in **{resolved[1]}**" if resolved else "")

        async def render(number: int) -> tuple[str, list[discord.Embed], bool]:
            if number == 0:
                return _content(heading, first), _embeds(first), first.has_next
            page = await self.news.search_page(query, resolved, number, guild=guild)
            return _content(heading, page), _embeds(page), page.has_next

        await Paginator(interaction.user.id, render).send(interaction, ephemeral=ephemeral)

    @app_commands.command(name="related", description="Related coverage of an article")
    @app_commands.describe(
        article="Start typing words of the title and pick the article",
        ephemeral="Show the answer only to you",
    )
    @app_commands.autocomplete(article=complete_article)
    async def related(
        self,
        interaction: discord.Interaction[Any],
        article: app_commands.Range[str, 1, 200],
        ephemeral: bool = False,
    ) -> None:
        guild = interaction.guild_id
        found = await self.news.resolve_article(article, guild=guild)
        assert found.id is not None
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        coverage = await self.news.related(found.id, guild=guild)
        assert coverage is not None
        embed = related_embed(coverage.article.title, coverage.article.url, coverage.items)
        await interaction.followup.send(embed=discord.Embed.from_dict(embed), ephemeral=ephemeral)

    @app_commands.command(name="topics", description="Every topic, with its number of articles")
    @app_commands.describe(ephemeral="Show the answer only to you")
    async def topics(self, interaction: discord.Interaction[Any], ephemeral: bool = False) -> None:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)

        async def render(number: int) -> tuple[str, list[discord.Embed], bool]:
            rows, has_next, total = await self.news.topics(number, guild=interaction.guild_id)
            embed = topics_embed([(t.name, t.articles) for t in rows], number, total)
            return "", [discord.Embed.from_dict(embed)], has_next

        await Paginator(interaction.user.id, render).send(interaction, ephemeral=ephemeral)
