"""Discussion threads under posts: exactly one per post, also across a crash.

The delivery records the thread as owed with the intent; once the post is confirmed the thread
is started. A thread started on a message has the message's id, and Discord answers 160004 when
it exists already, so starting it again after a crash (or a 5xx) is safe: that answer means
done. Where threads cannot be started (no Create Public Threads, the server's 1,000 active
threads), posts go on without them, and the moderators are told once.
"""

from __future__ import annotations

import logging

from bot.domain.delivery import Delivery, ThreadState
from bot.domain.subscription import Subscription
from bot.domain.threads import ThreadSpec
from bot.log import with_ids
from bot.services.publishing.alerts import Alerts
from bot.services.publishing.ports import (
    ChannelUnavailable,
    DeliveryError,
    Poster,
    PostGone,
    ThreadsUnavailable,
    TransientError,
)
from bot.store.outbox import Outbox
from bot.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)


class Threads:
    def __init__(
        self, outbox: Outbox, poster: Poster, subscriptions: SubscriptionStore, alerts: Alerts
    ) -> None:
        self.outbox = outbox
        self.poster = poster
        self.subscriptions = subscriptions
        self.alerts = alerts
        self._told: dict[int, str | None] = {}  # per subscription, within this process

    async def start(
        self,
        sub: Subscription,
        delivery: Delivery,
        message_id: int,
        thread: ThreadSpec,
        refused: str | None = None,
    ) -> bool:
        """Start the post's thread. ``refused``: the cache already says it cannot be done.
        False: the outcome is unknown (5xx, network); it stays owed for the next run."""
        logger = with_ids(log, **sub.ids, article_id=delivery.article_id)
        if refused is not None:
            await self._none(sub, delivery, refused, tell=True)
            return True
        try:
            thread_id = await self.poster.start_thread(sub.channel_id, message_id, thread)
        except PostGone as exc:
            await self._none(sub, delivery, exc.reason, tell=False)
            return True
        except ThreadsUnavailable as exc:
            await self._none(sub, delivery, exc.reason, tell=True)
            return True
        except (TransientError, ChannelUnavailable) as exc:
            logger.warning("could not start the thread on message %s: %s", message_id, exc.reason)
            return False
        except DeliveryError as exc:  # refused as malformed: it would be refused again
            logger.warning("Discord refused the thread on message %s: %s", message_id, exc.reason)
            await self._none(sub, delivery, exc.reason, tell=False)
            return True
        await self.outbox.mark_thread(
            sub.channel_id, delivery.article_id, ThreadState.STARTED, thread_id=thread_id
        )
        if self._problem(sub) is not None:
            await self._remember(sub, None)  # threads work again: a new problem is told again
        return True

    async def _none(
        self, sub: Subscription, delivery: Delivery, reason: str, *, tell: bool
    ) -> None:
        await self.outbox.mark_thread(
            sub.channel_id, delivery.article_id, ThreadState.NONE, error=reason
        )
        if not tell or self._problem(sub) == reason:
            return
        with_ids(log, **sub.ids).warning("posting without discussion threads: %s", reason)
        await self.alerts.tell(
            sub.guild_id,
            f"🧵 Newsdesk cannot start discussion threads in <#{sub.channel_id}>: {reason}. "
            "Posts go on without them; new posts get threads again once that is fixed.",
            not_in=sub.channel_id,
        )
        await self._remember(sub, reason)

    def _problem(self, sub: Subscription) -> str | None:
        return self._told.get(sub.id, sub.thread_problem)

    async def _remember(self, sub: Subscription, problem: str | None) -> None:
        self._told[sub.id] = problem
        await self.subscriptions.set_thread_problem(sub.id, problem)
