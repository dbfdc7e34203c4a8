"""Moderators' use cases: subscriptions, the publishing switches, preview, post-now, ingest.

Everything is scoped to the moderator's own server: a subscription is found by channel only
among that server's subscriptions. Every change is recorded (who, what, when) and announced
in the server's log channel when one is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.domain.delivery import Delivery
from bot.domain.models import Article
from bot.domain.selection import Skip
from bot.domain.subscription import (
    InvalidSpec,
    Standing,
    State,
    Subscription,
    SubscriptionSpec,
    next_run,
    standing,
)
from bot.domain.subscription_text import describe
from bot.domain.threads import ignored_options
from bot.errors import UserFacingError
from bot.services.ingest.discovery import SourceError
from bot.services.ingest.ingestor import IngestSummary
from bot.services.jobs import Jobs
from bot.services.publishing.alerts import Alerts
from bot.services.publishing.guilds import GuildPolicy
from bot.services.publishing.ports import Channels
from bot.services.publishing.publisher import Publisher
from bot.services.publishing.selector import Selector
from bot.services.publishing.sender import RunReport
from bot.store.article_reads import ArticleReads
from bot.store.audit import AuditStore
from bot.store.browse import BrowseStore
from bot.store.guilds import GuildStore
from bot.store.outbox import Outbox
from bot.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Actor:
    """The moderator behind a command."""

    guild_id: int
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    subscription: Subscription
    standing: Standing
    next_run: datetime | None
    last_posts: list[tuple[Delivery, Article | None]]
    queued: list[Article]
    notes: tuple[str, ...] = ()  # options ignored in this channel, threads that cannot start
    edits_queued: int = 0  # posts waiting for an edit or a removal action (on_removed)


@dataclass(frozen=True, slots=True)
class Preview:
    subscription: Subscription
    chosen: list[Article]
    near_misses: list[tuple[Article | None, str, tuple[Skip, ...]]]  # (article, url, reasons)
    not_run: str | None
    notes: tuple[str, ...] = ()


class AdminService:
    def __init__(
        self,
        *,
        guilds: GuildPolicy,
        guild_settings: GuildStore,
        subscriptions: SubscriptionStore,
        selector: Selector,
        publisher: Publisher,
        jobs: Jobs,
        outbox: Outbox,
        articles: ArticleReads,
        browse: BrowseStore,
        audit: AuditStore,
        alerts: Alerts,
        channels: Channels,
        clock: Callable[[], datetime],
    ) -> None:
        self.guilds = guilds
        self.guild_settings = guild_settings
        self.subscriptions = subscriptions
        self.selector = selector
        self.publisher = publisher
        self.jobs = jobs
        self.outbox = outbox
        self.articles = articles
        self.browse = browse
        self.audit = audit
        self.alerts = alerts
        self.channels = channels
        self.clock = clock

    # ------------------------------------------------------------------ access

    async def is_moderator(
        self, guild_id: int, role_ids: Sequence[int], manage_guild: bool
    ) -> bool:
        return await self.guilds.is_moderator(guild_id, role_ids, manage_guild)

    # ------------------------------------------------------------------ records

    async def record(self, actor: Actor, action: str) -> None:
        """Remember who did what; tell the server's log channel when there is one."""
        await self.audit.record(actor.guild_id, actor.user_id, action)
        log.info(
            "moderator action: %s",
            action,
            extra={"guild_id": actor.guild_id, "user_id": actor.user_id},
        )
        await self.alerts.tell(actor.guild_id, f"🛠️ <@{actor.user_id}> {action}")

    # ------------------------------------------------------------------ subscriptions

    async def subscription_in(self, guild_id: int, channel_id: int) -> Subscription:
        """The channel's subscription, if that channel belongs to this server."""
        sub = await self.subscriptions.get_by_channel(channel_id)
        if sub is not None:
            sub = await self.guilds.locate(sub)
        if sub is None or sub.guild_id != guild_id:
            raise UserFacingError(
                f"<#{channel_id}> has no subscription. `/newsadmin subscriptions` lists them; "
                "`/newsadmin subscribe` creates one."
            )
        return sub

    async def guild_subscriptions(self, guild_id: int) -> list[Subscription]:
        located = [await self.guilds.locate(sub) for sub in await self.subscriptions.list()]
        return [sub for sub in located if sub.guild_id == guild_id]

    async def standings(self, guild_id: int) -> list[tuple[Subscription, Standing]]:
        """This server's subscriptions, each with whether it publishes (and why not)."""
        server_on = await self.server_publishing(guild_id)
        return [(sub, standing(sub, server_on)) for sub in await self.guild_subscriptions(guild_id)]

    async def known_topics(self, names: Sequence[str]) -> tuple[str, ...]:
        """The display names of these topics; UserFacingError naming the unknown ones."""
        found, unknown = [], []
        for name in names:
            topic = await self.browse.topic(name)
            if topic is None:
                unknown.append(name)
            else:
                found.append(topic[1])
        if unknown:
            hints = []
            for name in unknown[:3]:
                # hints name only topics every server sees
                close = await self.browse.complete_topic(name[:3], limit=3, guild=None)
                if close:
                    hints.append(f"for “{name}”, did you mean " + ", ".join(t.name for t in close))
            hint = f" ({'; '.join(hints)})" if hints else ""
            raise UserFacingError(
                f"Unknown topic{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(unknown)}{hint}. `/news topics` lists them all."
            )
        return tuple(dict.fromkeys(found))

    def check_channel(self, guild_id: int, channel_id: int) -> None:
        info = self.channels.channel_info(channel_id)
        if info is None or info.guild_id != guild_id:
            raise UserFacingError(f"I cannot see <#{channel_id}> in this server.")
        if info.problem is not None:
            raise UserFacingError(f"I cannot post in <#{channel_id}>: {info.problem}.")

    def notes(self, sub: Subscription) -> tuple[str, ...]:
        """What moderators should know about how the channel takes this subscription."""
        info = self.channels.channel_info(sub.channel_id)
        out = (
            [f"ignored here: {option}" for option in ignored_options(sub.spec, info.kind)]
            if info
            else []
        )
        if sub.spec.thread and sub.thread_problem:
            out.append(f"posts go without threads: {sub.thread_problem}")
        return tuple(out)

    @staticmethod
    def new_spec(options: dict[str, Any]) -> SubscriptionSpec:
        """A moderator's options as a spec, validated as the config file's are (quick: the
        command checks them before it defers)."""
        return _checked(lambda: SubscriptionSpec.from_discord(options))

    async def subscribe(self, actor: Actor, spec: SubscriptionSpec) -> Subscription:
        self.check_channel(actor.guild_id, spec.channel_id)
        if await self.subscriptions.get_by_channel(spec.channel_id) is not None:
            raise UserFacingError(
                f"<#{spec.channel_id}> already has a subscription: change it with "
                "`/newsadmin edit`."
            )
        spec = spec.model_copy(update={"topics": await self.known_topics(spec.topics)})
        sub = await self.subscriptions.create(spec, actor.guild_id)
        self.jobs.schedule(sub)
        await self.record(actor, f"subscribed <#{spec.channel_id}> ({describe(spec)})")
        return sub

    async def edit(self, actor: Actor, channel_id: int, changes: dict[str, Any]) -> Subscription:
        sub = await self.subscription_in(actor.guild_id, channel_id)
        spec = _checked(lambda: sub.spec.changed(changes))
        known: dict[str, Any] = {
            key: await self.known_topics(getattr(spec, key))
            for key in ("topics", "exclude_topics")
            if key in changes
        }
        spec = spec.model_copy(update=known)
        await self.subscriptions.update_spec(channel_id, spec)
        updated = replace(sub, spec=spec)
        self.jobs.schedule(updated)
        await self.record(actor, f"changed <#{channel_id}>: {describe(spec)}")
        return updated

    async def unsubscribe(self, actor: Actor, channel_id: int) -> str:
        """Delete a moderator-made subscription. One from the config file would come back at
        the next start, so it is switched off instead (that survives restarts)."""
        sub = await self.subscription_in(actor.guild_id, channel_id)
        if sub.origin == "config":
            await self.subscriptions.set_enabled(sub.id, False)
            text = (
                f"switched off <#{channel_id}>'s subscription (it comes from the config file; "
                "remove it there to delete it)"
            )
        else:
            await self.subscriptions.delete(channel_id)
            self.jobs.unschedule(sub.id)
            text = f"unsubscribed <#{channel_id}>"
        await self.record(actor, text)
        return text

    # ------------------------------------------------------------------ publishing switches

    async def set_publishing(self, actor: Actor, channel_id: int | None, on: bool) -> str:
        word = "on" if on else "off"
        if channel_id is None:
            await self.guild_settings.set_publishing(actor.guild_id, on)
            text = f"switched publishing {word} for the whole server"
        else:
            sub = await self.subscription_in(actor.guild_id, channel_id)
            await self.subscriptions.set_enabled(sub.id, on)
            text = f"switched publishing {word} for <#{channel_id}>"
            if on and sub.paused_reason:
                text += f" (it had been paused: {sub.paused_reason})"
        await self.record(actor, text)
        return text

    async def server_publishing(self, guild_id: int) -> bool:
        return await self.guilds.publishing_enabled(guild_id)

    async def status(self, guild_id: int, channel_id: int | None) -> list[SubscriptionStatus]:
        subs = (
            [await self.subscription_in(guild_id, channel_id)]
            if channel_id is not None
            else await self.guild_subscriptions(guild_id)
        )
        server_on = await self.server_publishing(guild_id)
        now = self.clock()
        queues = await self.outbox.queues([sub.channel_id for sub in subs])
        out = []
        for sub in subs:
            where = standing(sub, server_on)
            on = where.state is State.ON
            last = await self.outbox.last_sent(sub.channel_id, 3)
            by_id = {a.id: a for a in await self.articles.get_many([d.article_id for d in last])}
            queued = []
            if on or channel_id is not None:
                selection = await self.selector.next_run(sub, now)
                queued = await self.articles.get_many([c.article_id for c in selection.chosen])
            scheduled = self.jobs.next_run(sub.id) or next_run(sub.spec, sub.last_run_at, now)
            out.append(
                SubscriptionStatus(
                    sub,
                    where,
                    scheduled if on else None,
                    [(d, by_id.get(d.article_id)) for d in last],
                    queued,
                    self.notes(sub),
                    queues[sub.channel_id].edits if sub.channel_id in queues else 0,
                )
            )
        return out

    # ------------------------------------------------------------------ runs

    async def preview(self, guild_id: int, channel_id: int) -> Preview:
        """The next run's picks, and why the newest other articles of its topics stay out."""
        sub = await self.subscription_in(guild_id, channel_id)
        explanation = await self.selector.explain(sub, self.clock())
        chosen = await self.articles.get_many([c.article_id for c in explanation.selection.chosen])
        misses = explanation.near_misses
        by_id = {a.id: a for a in await self.articles.get_many([c.article_id for c, _ in misses])}
        where = standing(sub, await self.server_publishing(guild_id))
        return Preview(
            sub,
            chosen,
            [(by_id.get(c.article_id), c.url, r) for c, r in misses],
            where.why_not(),
            self.notes(sub),
        )

    async def post_now(self, actor: Actor, channel_id: int) -> RunReport:
        sub = await self.subscription_in(actor.guild_id, channel_id)
        report = await self.publisher.run(sub.id, force=True)
        await self.record(
            actor, f"ran publishing now for <#{channel_id}>: {len(report.posted)} posted"
        )
        return report

    async def ingest(self, actor: Actor) -> IngestSummary:
        try:
            summary = await self.jobs.run_ingest()
        except SourceError as exc:
            raise UserFacingError(f"The sources could not be scanned: {exc}") from None
        if summary is None:
            raise UserFacingError("No sources are configured: there is nothing to scan.")
        await self.record(actor, f"re-scanned the sources: {summary.describe()}")
        return summary

    # ------------------------------------------------------------------ server settings

    async def update_settings(
        self,
        actor: Actor,
        *,
        log_channel_id: int | None = None,
        clear_log_channel: bool = False,
        add_role: int | None = None,
        remove_role: int | None = None,
    ) -> None:
        changes: list[str] = []
        if log_channel_id is not None:
            self.check_channel(actor.guild_id, log_channel_id)
            await self.guild_settings.set_log_channel(actor.guild_id, log_channel_id)
            changes.append(f"log channel <#{log_channel_id}>")
        elif clear_log_channel:
            await self.guild_settings.set_log_channel(actor.guild_id, None)
            changes.append("no log channel of its own (the config's default applies)")
        if add_role is not None or remove_role is not None:
            before = await self.guilds.moderator_roles(actor.guild_id)
            after = await self.guild_settings.change_moderator_roles(
                actor.guild_id,
                self.guilds.defaults.moderator_role_ids,
                add=add_role,
                remove=remove_role,
            )
            changes += [f"moderator role <@&{r}> added" for r in after if r not in before]
            changes += [f"moderator role <@&{r}> removed" for r in before if r not in after]
        if changes:
            await self.record(actor, "changed the server's settings: " + "; ".join(changes))

    async def settings_summary(self, guild_id: int) -> tuple[int | None, tuple[int, ...]]:
        """The log channel alerts go to, and the moderator roles, as they apply now."""
        return await self.guilds.log_channel(guild_id), await self.guilds.moderator_roles(guild_id)


def _checked(make: Callable[[], SubscriptionSpec]) -> SubscriptionSpec:
    """A spec, or the same ``key: problem`` lines the config file would get, for Discord."""
    try:
        return make()
    except InvalidSpec as exc:
        raise UserFacingError("That does not work: " + "; ".join(exc.problems) + ".") from None
