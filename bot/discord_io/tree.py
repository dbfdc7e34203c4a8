"""The one place where errors of commands, buttons and pages become short private answers.

Users never see a traceback: a UserFacingError shows its own message, a failed check says who
may use the command, anything else is logged with its context and answered with a generic
apology that carries an error id to find the log line (:func:`answer_error`).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.errors import UserFacingError

log = logging.getLogger(__name__)


class NotModeratorError(app_commands.CheckFailure):
    """The member may not use moderator commands in this server."""


async def respond(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer privately, whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as exc:  # the interaction expired, or Discord is down
        log.warning("could not answer interaction %s: %s", interaction.id, exc)


def message_for(error: BaseException) -> str | None:
    """What to tell the user; None for an unexpected error (logged, generic answer)."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    elif isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, UserFacingError):
        return error.message
    if isinstance(error, NotModeratorError):
        return (
            "Only moderators can do that: you need Manage Server or one of this server's "
            "moderator roles."
        )
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command only works in a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"“{error.value}” is not a valid {error.type.name.lower()}."
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use that command here."
    return None


async def answer_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """The one error policy for everything a member does (commands, buttons, pages).

    A user's mistake or a refusal is answered with its own message; anything else is logged
    with its context and an error id, and answered with an apology carrying that id. The
    member is always answered, privately: never left on "thinking…".
    """
    text = message_for(error)
    kind = (
        "refused"
        if isinstance(error, app_commands.CheckFailure)
        else "user"
        if text is not None
        else "internal"
    )
    interaction.client.dispatch("command_error_answered", interaction, kind)
    if text is None:
        error_id = secrets.token_hex(4)
        original = getattr(error, "original", error)
        log.error(
            "%s failed (error id %s)",
            what_was_used(interaction),
            error_id,
            exc_info=original,
            extra={
                "guild_id": interaction.guild_id,
                "channel_id": interaction.channel_id,
                "user_id": interaction.user.id,
            },
        )
        text = f"Something went wrong on my side (error id `{error_id}`); it has been logged."
    await respond(interaction, text)


def what_was_used(interaction: discord.Interaction[Any]) -> str:
    """``/news topic``, or ``button newsdesk:related:12`` for a component."""
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    data: Any = interaction.data or {}
    custom_id = data.get("custom_id") if isinstance(data, dict) else None
    return f"button {custom_id}" if custom_id else "interaction"


class NewsTree(app_commands.CommandTree[Any]):
    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await answer_error(interaction, error)
