"""Persistent components: the "Related coverage" button under every post (and under a digest,
one per article).

Registered once with ``bot.add_dynamic_items`` in setup_hook; its custom_id carries the article
id, so a click is answered after any restart, for posts made long before it.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.discord_io.tree import answer_error
from bot.domain.posts import RELATED_BUTTON_PREFIX, related_button_id

log = logging.getLogger(__name__)


@runtime_checkable
class RelatedHandler(Protocol):
    """What the bot provides to answer a click (NewsBot does)."""

    async def show_related(
        self, interaction: discord.Interaction[Any], article_id: int
    ) -> None: ...


class RelatedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(RELATED_BUTTON_PREFIX) + r"(?P<article_id>[0-9]{1,19})",
):
    def __init__(self, article_id: int, label: str = "Related coverage") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=related_button_id(article_id),
                emoji="🔗",
            )
        )
        self.article_id = article_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RelatedButton:
        return cls(int(match["article_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Answers privately with the same list as /news related; a failure is answered by
        the one error policy (discord.py would only log it, leaving the member waiting)."""
        if not isinstance(interaction.client, RelatedHandler):
            return
        try:
            await interaction.client.show_related(interaction, self.article_id)
        except Exception as exc:
            await answer_error(interaction, exc)
