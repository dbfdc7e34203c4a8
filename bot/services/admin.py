"""Moderators' use cases: subscriptions, the publishing switches, preview, post-now, ingest.

Everything is scoped to the moderator's own guild: a subscription is found by channel only
among that guild's subscriptions. Every change is recorded (who, what, when) and announced in
the guild's log channel when one is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain.models import Article
from bot.domain.selection import Skip, rule_out
from bot.domain.subscription import Subscription, SubscriptionSpec
from bot.errors import UserFacingError
from bot.services.ingest.discovery import SourceError
from bot.services.ingest.ingestor import IngestSummary
from bot.services.jobs import Jobs
from bot.services.publisher import DeliveryError, Publisher, RunReport
from bot.settings import parse_duration
from bot.store.articles import ArticleStore
from bot.store.audit import AuditStore
from bot.store.browse import BrowseStore
from bot.store.deliveries import Delivery, DeliveryStore
from bot.store.subscriptions import GuildSettings, GuildStore, SubscriptionStore

log = logging.getLogger(__name__)

MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Actor:
    """The moderator behind a command."""

    guild_id: int
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    subscription: Subscription
    state: str  # "on", "switched off", "paused: ...", "publishing off for the server"
    next_run: datetime | None
    last_posts: list[tuple[Delivery, Article | None]]
    queued: list[Article]


@dataclass(frozen=True, slots=True)
class Preview:
    subscription: Subscription
    chosen: list[Article]
    near_misses: list[tuple[Article | None, str, Skip]]  # (article, url, reason)
    not_run: str | None


class AdminService:
    def __init__(
        self,
        *,
        publisher: Publisher,
        jobs: Jobs,
        subscriptions: SubscriptionStore,
        guilds: GuildStore,
        deliveries: DeliveryStore,
        articles: ArticleStore,
        browse: BrowseStore,
        audit: AuditStore,
    ) -> None:
        self.publisher = publisher
        self.jobs = jobs
        self.subscriptions = subscriptions
        self.guilds = guilds
        self.deliveries = deliveries
        self.articles = articles
        self.browse = browse
        self.audit = audit

    # ------------------------------------------------------------------ access

    async def moderator_roles(self, guild_id: int) -> tuple[int, ...]:
        own = (await self.guilds.get(guild_id)).moderator_role_ids
        if own is not None:
            return own
        return self.publisher.settings.moderation.moderator_role_ids

    async def is_moderator(
        self, guild_id: int, role_ids: Sequence[int], manage_guild: bool
    ) -> bool:
        if manage_guild:
            return True
        return bool(set(role_ids) & set(await self.moderator_roles(guild_id)))

    # ------------------------------------------------------------------ records

    async def record(self, actor: Actor, action: str) -> None:
        """Remember who did what; tell the guild's log channel when there is one."""
        await self.audit.record(actor.guild_id, actor.user_id, action)
        log.info(
            "moderator action: %s",
            action,
            extra={"guild_id": actor.guild_id, "user_id": actor.user_id},
        )
        channel = await self.publisher.log_channel(actor.guild_id)
        if channel is None:
            return
        try:
            await self.publisher.poster.alert(channel, f"🛠️ <@{actor.user_id}> {action}")
        except DeliveryError as exc:
            log.warning("could not announce a moderator action in %s: %s", channel, exc.reason)

    # ------------------------------------------------------------------ subscriptions

    async def subscription_in(self, guild_id: int, channel_id: int) -> Subscription:
        """The channel's subscription, if that channel belongs to this guild."""
        sub = await self.subscriptions.get_by_channel(channel_id)
        if sub is not None and sub.guild_id is None:
            # Not learnt yet: ask Discord's cache which guild the channel is in (never trust
            # the caller's guild, or a moderator elsewhere could claim it).
            info = self.publisher.poster.channel_info(channel_id)
            if info is not None and info.guild_id is not None:
                await self.subscriptions.set_guild(sub.id, info.guild_id)
                sub = replace(sub, guild_id=info.guild_id)
        if sub is None or sub.guild_id != guild_id:
            raise UserFacingError(
                f"<#{channel_id}> has no subscription. `/newsadmin subscriptions` lists them; "
                "`/newsadmin subscribe` creates one."
            )
        return sub

    async def guild_subscriptions(self, guild_id: int) -> list[Subscription]:
        subs = []
        for sub in await self.subscriptions.list():
            if sub.guild_id is None:
                info = self.publisher.poster.channel_info(sub.channel_id)
                if info is not None and info.guild_id is not None:
                    await self.subscriptions.set_guild(sub.id, info.guild_id)
                    sub = replace(sub, guild_id=info.guild_id)
            if sub.guild_id == guild_id:
                subs.append(sub)
        return subs

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
                close = await self.browse.complete_topic(name[:3], limit=3)
                if close:
                    hints.append(f"for “{name}”, did you mean " + ", ".join(t.name for t in close))
            hint = f" ({'; '.join(hints)})" if hints else ""
            raise UserFacingError(
                f"Unknown topic{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(unknown)}{hint}. `/news topics` lists them all."
            )
        return tuple(dict.fromkeys(found))

    def check_channel(self, guild_id: int, channel_id: int) -> None:
        info = self.publisher.poster.channel_info(channel_id)
        if info is None or info.guild_id != guild_id:
            raise UserFacingError(f"I cannot see <#{channel_id}> in this server.")
        if info.problem is not None:
            raise UserFacingError(f"I cannot post in <#{channel_id}>: {info.problem}.")

    async def subscribe(self, actor: Actor, spec: SubscriptionSpec) -> Subscription:
        self.check_channel(actor.guild_id, spec.channel_id)
        if await self.subscriptions.get_by_channel(spec.channel_id) is not None:
            raise UserFacingError(
                f"<#{spec.channel_id}> already has a subscription: change it with "
                "`/newsadmin edit`."
            )
        spec = replace(spec, topics=await self.known_topics(spec.topics))
        sub = await self.subscriptions.create(spec, actor.guild_id)
        self.jobs.schedule(sub)
        await self.record(actor, f"subscribed <#{spec.channel_id}> ({describe(spec)})")
        return sub

    async def edit(self, actor: Actor, channel_id: int, changes: dict[str, Any]) -> Subscription:
        sub = await self.subscription_in(actor.guild_id, channel_id)
        if "topics" in changes:
            changes["topics"] = await self.known_topics(changes["topics"])
        if "exclude_topics" in changes:
            changes["exclude_topics"] = await self.known_topics(changes["exclude_topics"])
        if changes.get("interval") is not None:
            changes["cron"] = None
        spec = replace(sub.spec, **changes)
        await self.subscriptions.update_spec(channel_id, spec)
        updated = await self.subscriptions.get_by_channel(channel_id)
        assert updated is not None
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
            await self.guilds.set_publishing(actor.guild_id, on)
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
        return await self.publisher.publishing_enabled(guild_id)

    async def status(self, guild_id: int, channel_id: int | None) -> list[SubscriptionStatus]:
        subs = (
            [await self.subscription_in(guild_id, channel_id)]
            if channel_id is not None
            else await self.guild_subscriptions(guild_id)
        )
        server_on = await self.server_publishing(guild_id)
        out = []
        for sub in subs:
            if not server_on:
                state = "publishing off for the server"
            elif not sub.spec.enabled:
                state = "switched off"
            elif sub.paused_reason:
                state = f"paused: {sub.paused_reason}"
            else:
                state = "on"
            last = await self.deliveries.last_sent(sub.channel_id, 3)
            articles = await self.articles.get_many([d.article_id for d in last])
            by_id = {a.id: a for a in articles}
            queued = []
            if state == "on" or channel_id is not None:
                selection = await self.publisher.selection(sub)
                queued = await self.articles.get_many([c.article_id for c in selection.chosen])
            out.append(
                SubscriptionStatus(
                    sub,
                    state,
                    self.jobs.next_run(sub.id) if state == "on" else None,
                    [(d, by_id.get(d.article_id)) for d in last],
                    queued,
                )
            )
        return out

    # ------------------------------------------------------------------ runs

    async def preview(self, guild_id: int, channel_id: int) -> Preview:
        """The next run's picks, and why the newest other articles of its topics stay out."""
        sub = await self.subscription_in(guild_id, channel_id)
        now = self.publisher.clock()
        selection = await self.publisher.selection(sub, now)
        chosen = await self.articles.get_many([c.article_id for c in selection.chosen])
        picked = {c.article_id for c in selection.chosen}
        policy = self.publisher.policy(sub)
        misses: list[tuple[Any, Skip]] = [
            (c, r) for c, r in selection.skipped if r is not Skip.RUN_FULL
        ]
        seen = picked | {c.article_id for c, _ in misses}
        for candidate in await self.deliveries.recent(sub.channel_id, sub.spec.topics, 30):
            if candidate.article_id in seen:
                continue
            reason = rule_out(candidate, policy, now)
            if reason is not None:
                misses.append((candidate, reason))
        misses += [(c, r) for c, r in selection.skipped if r is Skip.RUN_FULL]
        misses = misses[:12]
        by_id = {a.id: a for a in await self.articles.get_many([c.article_id for c, _ in misses])}
        not_run = None
        if not sub.spec.enabled:
            not_run = "the subscription is switched off"
        elif sub.paused_reason:
            not_run = f"the subscription is paused: {sub.paused_reason}"
        elif not await self.server_publishing(guild_id):
            not_run = "publishing is switched off for this server"
        return Preview(
            sub, chosen, [(by_id.get(c.article_id), c.url, r) for c, r in misses], not_run
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

    # ------------------------------------------------------------------ guild settings

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        return await self.guilds.get(guild_id)

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
            await self.guilds.set_log_channel(actor.guild_id, log_channel_id)
            changes.append(f"log channel <#{log_channel_id}>")
        elif clear_log_channel:
            await self.guilds.set_log_channel(actor.guild_id, None)
            changes.append("no log channel of its own (the config's default applies)")
        if add_role is not None or remove_role is not None:
            before = await self.moderator_roles(actor.guild_id)
            after = await self.guilds.change_moderator_roles(
                actor.guild_id,
                self.publisher.settings.moderation.moderator_role_ids,
                add=add_role,
                remove=remove_role,
            )
            changes += [f"moderator role <@&{r}> added" for r in after if r not in before]
            changes += [f"moderator role <@&{r}> removed" for r in before if r not in after]
        if changes:
            await self.record(actor, "changed the server's settings: " + "; ".join(changes))


def describe(spec: SubscriptionSpec) -> str:
    """A subscription's rules in one line."""
    parts = [f"topics {', '.join(spec.topics)}" if spec.topics else "every topic"]
    if spec.exclude_topics:
        parts.append(f"not {', '.join(spec.exclude_topics)}")
    parts.append(f"quality ≥ {spec.min_quality:g}")
    parts.append(f"up to {spec.max_per_run} per run")
    if spec.cron:
        parts.append(f"cron {spec.cron} ({spec.timezone})")
    elif spec.interval:
        parts.append(f"every {format_timedelta(spec.interval)}")
    parts.append(f"max age {format_timedelta(spec.max_age)}" if spec.max_age else "no age limit")
    if spec.quiet_hours:
        parts.append(f"quiet {spec.quiet_hours}")
    return ", ".join(parts)


def format_timedelta(value: timedelta) -> str:
    from bot.settings import format_duration

    return format_duration(value)


def parse_interval(text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UserFacingError(f"Interval: {exc}.") from None
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise UserFacingError("Interval: choose between 1m and 7d.")
    return value


def parse_max_age(text: str) -> timedelta | None:
    if text.strip().lower() in ("none", "null", "no limit", "off"):
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UserFacingError(f"Max age: {exc} (or “none” for no limit).") from None
