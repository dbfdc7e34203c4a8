"""Previous/Next pages that only the member who ran the command can turn."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.discord_io.tree import answer_error

log = logging.getLogger(__name__)

# Renders page n (0-based): the message's content, its embeds, and whether a next page exists.
PageRenderer = Callable[[int], Awaitable[tuple[str, list[discord.Embed], bool]]]
PAGE_TIMEOUT = 600.0


class Paginator(discord.ui.View):
    def __init__(
        self, owner_id: int, render: PageRenderer, *, timeout: float = PAGE_TIMEOUT
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.render = render
        self.page = 0
        self.has_next = False
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None

    async def send(self, interaction: discord.Interaction[Any], *, ephemeral: bool) -> None:
        """Send page 0 as the answer to a deferred interaction."""
        content, embeds, self.has_next = await self.render(0)
        self._update_buttons()
        if not self.has_next:  # a single page needs no buttons
            await interaction.followup.send(content, embeds=embeds, ephemeral=ephemeral)
            self.stop()
            return
        self.message = await interaction.followup.send(
            content, embeds=embeds, view=self, ephemeral=ephemeral, wait=True
        )

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = not self.has_next

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the member who ran this command can turn its pages; run it yourself to browse.",
            ephemeral=True,
        )
        return False

    async def _show(self, interaction: discord.Interaction[Any], page: int) -> None:
        await interaction.response.defer()
        content, embeds, has_next = await self.render(page)
        self.page, self.has_next = page, has_next
        self._update_buttons()
        await interaction.edit_original_response(content=content, embeds=embeds, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, emoji="◀️")
    async def previous(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        await self._show(interaction, max(0, self.page - 1))

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, emoji="▶️")
    async def next(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        await self._show(interaction, self.page + 1)

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        try:
            await self.message.edit(view=None)
        except discord.HTTPException:
            log.debug("could not remove the page buttons of an expired listing")

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await answer_error(interaction, error)
