"""What becomes of a queued post when Discord answers a change to it (an edit, a mark, a
deletion), for every article the message carries (a post's one, a digest's all):

* PostGone (10008, or 10003 for a forum post's thread): recorded, never edited or re-sent, the
  subscription is not paused;
* PostLocked: not edited, recorded; PostRejected: not edited, recorded;
* RateLimited (a long 429, or 20022 for crossposted messages): the edit waits for the next run;
* TransientError (5xx, network): retried on later runs with the posts' backoff, at most
  ``publishing.retry_limit`` attempts;
* ChannelUnavailable: waits (the run's posts find the channel's problem and pause it); a
  refused deletion is recorded, as posting may still work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.domain.delivery import Delivery
from bot.domain.edits import Action
from bot.domain.subscription import Subscription
from bot.log import with_ids
from bot.metrics import Metrics
from bot.services.publishing.ports import (
    ChannelUnavailable,
    DeliveryError,
    Edited,
    PostGone,
    PostLocked,
    RateLimited,
    TransientError,
)
from bot.services.publishing.sender import RetryPolicy
from bot.store.edits import EditQueue

log = logging.getLogger(__name__)

WHAT = {Action.EDIT: "edit", Action.MARK: "mark", Action.DELETE: "delete"}


class EditOutcomes:
    def __init__(
        self,
        queue: EditQueue,
        *,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
        metrics: Metrics,
    ) -> None:
        self.queue = queue
        self.retry = retry
        self.clock = clock
        self.metrics = metrics

    async def attempt(
        self,
        sub: Subscription,
        group: list[Delivery],
        action: Action,
        what: str,
        call: Callable[[], Awaitable[Edited]],
    ) -> Edited | bool:
        """Make the change; what Discord said, for every article the message carries: Edited
        when it is made, else whether the run may go on with other edits."""
        channel_id = sub.channel_id
        logger = with_ids(log, **sub.ids, article_id=group[0].article_id)
        try:
            return await call()
        except PostGone as exc:
            self.metrics.edits.labels("gone").inc()
            logger.info("not changing the post of %s: %s", what, exc.reason)
            for delivery in group:
                await self.queue.gone(channel_id, delivery.article_id, exc.reason)
            return True
        except PostLocked as exc:
            self.metrics.edits.labels("locked").inc()
            logger.info("not changing the post of %s: %s", what, exc.reason)
            for delivery in group:
                await self.queue.give_up(channel_id, delivery.article_id, exc.reason)
            return True
        except RateLimited as exc:
            self.metrics.edits.labels("postponed").inc()
            logger.info("edits wait for the next run: %s", exc.reason)
            return False
        except ChannelUnavailable as exc:
            if action is Action.DELETE:  # refused (a permission): posting may still work
                logger.warning("not deleting the post of %s: %s", what, exc.reason)
                self.metrics.edits.labels("failed").inc()
                for delivery in group:
                    await self.queue.settle(channel_id, delivery.article_id, exc.reason)
                return True
            logger.warning("edits wait: %s", exc.reason)
            return False
        except TransientError as exc:
            await self._retry_later(sub, [d for d in group if d.edit_due] or group, exc.reason)
            return False
        except DeliveryError as exc:  # refused as malformed or forbidden: it would be again
            self.metrics.edits.labels("failed").inc()
            logger.warning(
                "Discord refused to %s the post of %s: %s", WHAT[action], what, exc.reason
            )
            for delivery in group:
                await self.queue.give_up(channel_id, delivery.article_id, exc.reason)
            return True

    async def _retry_later(self, sub: Subscription, group: list[Delivery], reason: str) -> None:
        logger = with_ids(log, **sub.ids, article_id=group[0].article_id)
        attempts = max(d.edit_attempts for d in group) + 1
        if attempts >= self.retry.limit:
            self.metrics.edits.labels("failed").inc()
            logger.error("giving up on an edit after %d attempts: %s", attempts, reason)
            for delivery in group:
                await self.queue.give_up(sub.channel_id, delivery.article_id, reason)
            return
        self.metrics.edits.labels("retried").inc()
        when = self.clock() + self.retry.delay(attempts)
        logger.warning("edit failed (%s); attempt %d of %d", reason, attempts, self.retry.limit)
        for delivery in group:
            await self.queue.retry_later(sub.channel_id, delivery.article_id, reason, when)
