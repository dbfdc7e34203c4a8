"""NewsBot: the discord.py client. Everything it uses is passed to its constructor."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import discord
from discord.ext import commands

from bot.discord_io.connection import login_until
from bot.discord_io.tree import NewsTree
from bot.discord_io.views import RelatedButton
from bot.domain.listings import related_embed
from bot.metrics import Metrics
from bot.services.guard import guarded
from bot.services.jobs import Jobs
from bot.services.news import NewsService
from bot.services.publishing.alerts import Pauses
from bot.services.publishing.ports import Channels
from bot.services.publishing.publisher import Publisher
from bot.store.audit import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """What the bot needs, built once in bot.app.wire and passed in."""

    cogs: tuple[commands.Cog, ...]  # the slash commands
    news: NewsService  # the related-coverage button answers with it
    jobs: Jobs
    publisher: Publisher
    pauses: Pauses
    channels: Channels
    state: StateStore
    metrics: Metrics
    sync_guild_ids: tuple[int, ...] = ()  # empty: commands are global
    configured_channels: tuple[int, ...] = ()  # the config file's subscriptions


def intents() -> discord.Intents:
    """Guilds only: the channel and permission cache. No message content, no members."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    return wanted


class NewsBot(commands.Bot):
    """``wire`` builds the services from this client (the Discord-facing poster needs it);
    bot.app.wire is the one place where dependencies are constructed."""

    def __init__(
        self,
        wire: Callable[[discord.Client], Services],
        *,
        publish: bool = True,
        **options: Any,
    ) -> None:
        # Newsdesk has no voice: discord.py's documented switches for its start-up warnings.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=NewsTree,
            # A rate limit longer than this raises instead of holding a channel's run: the post
            # stays pending and is retried (after reconciliation) on a later run.
            max_ratelimit_timeout=60.0,
            **options,
        )
        self.services = wire(self)
        self.publish = publish  # False for `newsdesk sync`: commands only, no jobs
        self._tasks: set[asyncio.Task[Any]] = set()
        self._set_up = False
        self.started_publishing = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def serve(self, token: str, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (or the gateway fails for good).

        The scheduler starts at once: ingest needs no Discord, and goes on while Discord
        cannot be reached; login is retried with backoff meanwhile (see connection.py).
        Publishing starts once the gateway is ready.
        """
        self.services.jobs.start()
        if not await login_until(self, token, stop):
            log.info("stop requested before Discord could be reached")
            return
        runner = asyncio.create_task(self.connect(), name="discord gateway")
        stopper = asyncio.create_task(stop.wait(), name="stop signal")
        try:
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if runner in done:
            runner.result()  # raises what ended the gateway
            return
        log.info("stop requested: finishing the current post, then closing")
        await self.close()
        with contextlib.suppress(asyncio.CancelledError, discord.ConnectionClosed):
            await runner

    async def setup_hook(self) -> None:
        """Called by every login; a login retried after a failure must not add things twice."""
        if self._set_up:
            return
        self._set_up = True
        for cog in self.services.cogs:
            await self.add_cog(cog)
        self.add_dynamic_items(RelatedButton)
        if self.publish:
            self.spawn(self._start_publishing(), name="start-publishing")

    def command_tree_hash(self) -> str:
        payload = sorted(
            (command.to_dict(self.tree) for command in self.tree.get_commands()),
            key=lambda c: str(c["name"]),
        )
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    async def sync_commands(self, *, force: bool = False, guild_id: int | None = None) -> bool:
        """Sync the slash commands when they changed since the last sync (or when forced).

        Discord allows 200 command creations a day per guild: syncing blindly on every start
        would burn them. The hash of the synced tree is kept in the database per application
        and scope. Returns whether a sync happened.
        """
        guilds = [guild_id] if guild_id else list(self.services.sync_guild_ids)
        scopes: list[int | None] = list(guilds) or [None]
        digest = self.command_tree_hash()
        synced = False
        for scope in scopes:
            key = f"command_tree:{self.application_id}:{scope or 'global'}"
            if not force and await self.services.state.get(key) == digest:
                continue
            target = discord.Object(scope) if scope else None
            if target is not None:
                self.tree.copy_global_to(guild=target)
            commands_synced = await self.tree.sync(guild=target)
            await self.services.state.set(key, digest)
            log.info("synced %d slash commands (%s)", len(commands_synced), scope or "global")
            synced = True
        return synced

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """A background task whose reference is kept (until it ends) and whose failure is
        logged and counted like any job's."""
        task = asyncio.create_task(guarded(name, coro, self.services.metrics), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _start_publishing(self) -> None:
        """Once connected: settle unfinished deliveries, then (and only then) schedule posts.

        Nothing here may stop publishing for good: each step's failure is logged and the next
        one still runs (a channel that could not be reconciled is retried by its own run).
        """
        await self.wait_until_ready()
        metrics = self.services.metrics
        await guarded("sync-commands", self.sync_commands(), metrics)
        await guarded("check-channels", self._check_channels(), metrics)
        await guarded("recheck-paused", self.services.pauses.recheck(), metrics)
        await guarded("reconcile", self.services.publisher.reconcile_all(), metrics)
        await self.services.jobs.schedule_publishing()
        self.started_publishing.set()
        log.info("publishing started for %d guilds", len(self.guilds))

    async def _check_channels(self) -> None:
        """Warn (don't crash) about configured channels the bot cannot use."""
        for channel_id in self.services.configured_channels:
            info = self.services.channels.channel_info(channel_id)
            if info is None:
                log.warning(
                    "channel %s (from the config) is not visible to the bot: is the bot in that "
                    "server, and may it view the channel?",
                    channel_id,
                )
            elif info.problem:
                log.warning("channel %s (%s): %s", channel_id, info.name, info.problem)
            else:
                channel = self.get_channel(channel_id)
                if (
                    isinstance(channel, discord.abc.GuildChannel)
                    and not channel.permissions_for(channel.guild.me).read_message_history
                ):
                    log.warning(
                        "channel %s (%s): missing Read Message History: after a crash the bot "
                        "cannot check whether a post already went out",
                        channel_id,
                        info.name,
                    )

    async def close(self) -> None:
        await self.services.jobs.shutdown()
        for task in list(self._tasks):
            task.cancel()
        await super().close()

    # ------------------------------------------------------------------ events

    async def on_ready(self) -> None:
        log.info(
            "connected to Discord as %s (%s) in %d guilds",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
        )

    async def on_connect(self) -> None:
        self.services.metrics.gateway_connected.set(1)

    async def on_resumed(self) -> None:
        self.services.metrics.gateway_connected.set(1)

    async def on_disconnect(self) -> None:
        self.services.metrics.gateway_connected.set(0)

    async def on_app_command_completion(
        self, interaction: discord.Interaction[Any], command: Any
    ) -> None:
        self.observe_command(interaction)

    async def on_command_error_answered(
        self, interaction: discord.Interaction[Any], kind: str
    ) -> None:
        """Dispatched by NewsTree.on_error: kind is user, refused or internal."""
        self.services.metrics.command_errors.labels(kind).inc()
        self.observe_command(interaction)

    def observe_command(self, interaction: discord.Interaction[Any]) -> None:
        """Latency from the interaction's creation to the end of its handler."""
        name = interaction.command.qualified_name if interaction.command else "unknown"
        elapsed = (discord.utils.utcnow() - interaction.created_at).total_seconds()
        self.services.metrics.command_seconds.labels(name).observe(max(0.0, elapsed))

    def gateway_connected(self) -> bool:
        return self.is_ready() and not self.is_closed() and self.ws is not None and self.ws.open

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        log.warning("removed from guild %s (%s)", guild.name, guild.id)
        await self.services.pauses.pause_guild(guild.id, "the bot left the server")

    async def on_guild_join(self, guild: discord.Guild) -> None:
        log.info("joined guild %s (%s)", guild.name, guild.id)
        await self.services.pauses.recheck()

    # ------------------------------------------------------------------ related coverage

    async def show_related(self, interaction: discord.Interaction[Any], article_id: int) -> None:
        """The private list behind the "Related coverage" button (and /news related)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        coverage = await self.services.news.related(article_id, guild=interaction.guild_id)
        if coverage is None:
            await interaction.followup.send(
                "That article is no longer in the archive.", ephemeral=True
            )
            return
        embed = related_embed(coverage.article.title, coverage.article.url, coverage.items)
        await interaction.followup.send(embed=discord.Embed.from_dict(embed), ephemeral=True)
