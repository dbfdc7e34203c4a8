"""What each subscription is doing, from the database alone (``newsdesk status``).

Operators should not need Discord to see what the bot does: the standing (on, off or paused,
and why), the last run and post, the queue (deliveries to reconcile or retry, posts waiting
for an edit, articles that could go) and the next run as the scheduler computes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.subscription import State, next_run, standing
from bot.services.publishing.guilds import GuildPolicy
from bot.services.publishing.selector import ELIGIBLE_CAP, Selector
from bot.store.outbox import ChannelQueue, Outbox
from bot.store.subscriptions import SubscriptionStore


@dataclass(frozen=True, slots=True)
class Status:
    channel_id: int
    guild_id: int | None
    state: State
    reason: str | None
    last_run: datetime | None
    last_post: datetime | None
    pending: int  # deliveries whose outcome is unknown (reconciled before anything new)
    retrying: int  # of those, waiting for a backed-off retry
    eligible: int  # articles that could go, counted up to ELIGIBLE_CAP
    next_run: datetime | None  # None unless on
    edits_queued: int = 0  # posts waiting for an edit or a removal action (on_removed)
    mode: str = "posts"  # or "digest"

    @property
    def eligible_capped(self) -> bool:
        return self.eligible >= ELIGIBLE_CAP

    def as_dict(self) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return moment.isoformat(timespec="seconds") if moment else None

        return {
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
            "state": self.state.value,
            "reason": self.reason,
            "last_run": when(self.last_run),
            "last_post": when(self.last_post),
            "pending": self.pending,
            "retrying": self.retrying,
            "eligible": self.eligible,
            "eligible_capped": self.eligible_capped,
            "next_run": when(self.next_run),
            "edits_queued": self.edits_queued,
            "mode": self.mode,
        }


class StatusService:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        outbox: Outbox,
        guilds: GuildPolicy,
        selector: Selector,
        clock: Callable[[], datetime],
    ) -> None:
        self.subscriptions = subscriptions
        self.outbox = outbox
        self.guilds = guilds
        self.selector = selector
        self.clock = clock

    async def statuses(self) -> list[Status]:
        now = self.clock()
        subs = await self.subscriptions.list()
        queues = await self.outbox.queues([sub.channel_id for sub in subs])
        out = []
        for sub in subs:
            where = standing(sub, await self.guilds.publishing_enabled(sub.guild_id))
            on = where.state is State.ON
            queue = queues.get(sub.channel_id, ChannelQueue())
            out.append(
                Status(
                    channel_id=sub.channel_id,
                    guild_id=sub.guild_id,
                    state=where.state,
                    reason=where.reason,
                    last_run=sub.last_run_at,
                    last_post=queue.last_post,
                    pending=queue.pending,
                    retrying=queue.retrying,
                    eligible=await self.selector.eligible(sub, now),
                    next_run=next_run(sub.spec, sub.last_run_at, now) if on else None,
                    edits_queued=queue.edits,
                    mode=sub.spec.mode,
                )
            )
        return out
