"""Edits inside a publishing run: posts follow their article when what it shows changed, and
when it left its source (``on_removed``).

Ingest queues the posts of a changed or withdrawn article (store.edits, store.withdrawals); a
run of the channel makes at most ``max_per_run`` edits, marks and deletions, newest posts
first, after reconciliation and before new posts, paced like posts (bot.domain.edits decides
which each post needs). What Discord says decides what becomes of each:

* confirmed: the delivery records the digest shown (due again if the article changed since);
* PostGone (10008, or 10003 for a forum post's thread): recorded, never edited or re-sent, the
  subscription is not paused;
* PostLocked: not edited, recorded; PostRejected: not edited, recorded;
* RateLimited (a long 429, or 20022 for crossposted messages): the edit waits for the next run;
* TransientError (5xx, network): retried on later runs with the posts' backoff, at most
  ``publishing.retry_limit`` attempts;
* ChannelUnavailable: waits; the run's posts find the channel's problem and pause it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.domain.delivery import Delivery
from bot.domain.edits import Action, edit_cutoff, next_action, shown_digest
from bot.domain.models import Article
from bot.domain.posts import build_withdrawn_post
from bot.domain.subscription import Subscription
from bot.domain.threads import thread_name
from bot.log import with_ids
from bot.metrics import Metrics
from bot.services.publishing.pacing import Pacer
from bot.services.publishing.ports import (
    ChannelInfo,
    ChannelUnavailable,
    DeliveryError,
    Edited,
    Poster,
    PostGone,
    PostLocked,
    RateLimited,
    TransientError,
)
from bot.services.publishing.sender import RetryPolicy, RunReport, Sender
from bot.store.articles import ArticleStore
from bot.store.edits import EditQueue

log = logging.getLogger(__name__)


class Editor:
    def __init__(
        self,
        queue: EditQueue,
        articles: ArticleStore,
        poster: Poster,
        sender: Sender,
        *,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
        metrics: Metrics,
    ) -> None:
        self.queue = queue
        self.articles = articles
        self.poster = poster
        self.sender = sender
        self.retry = retry
        self.clock = clock
        self.metrics = metrics

    async def run(
        self,
        sub: Subscription,
        info: ChannelInfo,
        report: RunReport,
        pacer: Pacer,
        stopping: Callable[[], bool],
    ) -> None:
        """Make the channel's due edits and removal actions, within the run's budget."""
        if not sub.spec.edits:
            await self.queue.drop(sub.channel_id)
        now = self.clock()
        due = await self.queue.due(
            sub.channel_id,
            now=now,
            cutoff=edit_cutoff(sub.spec.edit_window, now),
            limit=sub.spec.max_per_run,
        )
        if not due:
            return
        found = await self.articles.get_many([d.article_id for d in due])
        articles = {a.id: a for a in found}
        for delivery in due:
            if stopping():
                return
            article = articles.get(delivery.article_id)
            if article is None:
                await self.queue.give_up(sub.channel_id, delivery.article_id, "article not stored")
                continue
            if not await self._one(sub, info, delivery, article, report, pacer):
                return

    async def _one(
        self,
        sub: Subscription,
        info: ChannelInfo,
        delivery: Delivery,
        article: Article,
        report: RunReport,
        pacer: Pacer,
    ) -> bool:
        """One queued post. False: make no more edits in this run."""
        channel_id, article_id = sub.channel_id, delivery.article_id
        shown = shown_digest(article)
        action = next_action(
            withdrawn=article.withdrawn_at is not None,
            on_removed=sub.spec.on_removed,
            edits=sub.spec.edits,
            post_shows=delivery.shown_hash,
            article_shows=shown,
        )
        if action is Action.NOTHING:
            self.metrics.edits.labels("unchanged").inc()
            if article.withdrawn_at is None:  # changed and changed back before the edit
                await self.queue.edited(channel_id, article_id, shown)
            else:
                await self.queue.settle(channel_id, article_id)
            return True
        assert delivery.message_id is not None  # only posts that stand are queued
        forum = info.kind.forum
        thread = (delivery.thread_id or delivery.message_id) if forum else None
        if action is Action.DELETE and forum and not info.may_moderate:
            reason = "deleting a forum post needs the Manage Threads permission"
            with_ids(log, **sub.ids, article_id=article_id).warning(
                "not deleting the post of withdrawn %s: %s", article.url, reason
            )
            self.metrics.edits.labels("failed").inc()
            await self.queue.settle(channel_id, article_id, reason)
            return True
        await pacer.wait()
        if action is Action.DELETE and not await self._still_withdrawn(article_id):
            return True  # it came back while this run waited: the next run shows it again
        return await self._act(sub, delivery, article, action, shown, thread, report)

    async def _act(
        self,
        sub: Subscription,
        delivery: Delivery,
        article: Article,
        action: Action,
        shown: str,
        thread: int | None,
        report: RunReport,
    ) -> bool:
        channel_id, article_id = sub.channel_id, delivery.article_id
        assert delivery.message_id is not None
        logger = with_ids(log, **sub.ids, article_id=article_id)
        try:
            if action is Action.DELETE:
                await self.poster.delete_post(channel_id, delivery.message_id, forum_thread=thread)
                edited = Edited()
            else:
                post = (
                    build_withdrawn_post(article)
                    if action is Action.MARK
                    else self.sender.post_for(sub, article)
                )
                edited = await self.poster.edit_post(
                    channel_id,
                    delivery.message_id,
                    post,
                    forum_thread=thread,
                    name=thread_name(article.title) if thread and action is Action.EDIT else None,
                )
        except PostGone as exc:
            self.metrics.edits.labels("gone").inc()
            logger.info("not changing the post of %s: %s", article.url, exc.reason)
            await self.queue.gone(channel_id, article_id, exc.reason)
            return True
        except PostLocked as exc:
            self.metrics.edits.labels("locked").inc()
            logger.info("not changing the post of %s: %s", article.url, exc.reason)
            await self.queue.give_up(channel_id, article_id, exc.reason)
            return True
        except RateLimited as exc:
            self.metrics.edits.labels("postponed").inc()
            logger.info("edits wait for the next run: %s", exc.reason)
            return False
        except ChannelUnavailable as exc:
            if action is Action.DELETE:  # refused (a permission): posting may still work
                logger.warning("not deleting the post of %s: %s", article.url, exc.reason)
                self.metrics.edits.labels("failed").inc()
                await self.queue.settle(channel_id, article_id, exc.reason)
                return True
            logger.warning("edits wait: %s", exc.reason)
            return False
        except TransientError as exc:
            await self._retry_later(sub, delivery, exc.reason)
            return False
        except DeliveryError as exc:  # refused as malformed or forbidden: it would be again
            self.metrics.edits.labels("failed").inc()
            logger.warning(
                "Discord refused to %s the post of %s: %s", _WHAT[action], article.url, exc.reason
            )
            await self.queue.give_up(channel_id, article_id, exc.reason)
            return True
        if action is Action.DELETE:
            await self.queue.gone(channel_id, article_id, DELETED)
        elif action is Action.MARK:
            await self.queue.marked(channel_id, article_id)
        else:
            await self.queue.edited(channel_id, article_id, shown)
        self.metrics.edits.labels(_RESULT[action]).inc()
        report.edited.append(article_id)
        logger.info("%s the post of %s%s", _DONE[action], article.url, _renamed(edited))
        return True

    async def _still_withdrawn(self, article_id: int) -> bool:
        article = await self.articles.get(article_id)
        return article is not None and article.withdrawn_at is not None

    async def _retry_later(self, sub: Subscription, delivery: Delivery, reason: str) -> None:
        logger = with_ids(log, **sub.ids, article_id=delivery.article_id)
        attempts = delivery.edit_attempts + 1
        if attempts >= self.retry.limit:
            self.metrics.edits.labels("failed").inc()
            logger.error("giving up on an edit after %d attempts: %s", attempts, reason)
            await self.queue.give_up(sub.channel_id, delivery.article_id, reason)
            return
        self.metrics.edits.labels("retried").inc()
        when = self.clock() + self.retry.delay(attempts)
        logger.warning("edit failed (%s); attempt %d of %d", reason, attempts, self.retry.limit)
        await self.queue.retry_later(sub.channel_id, delivery.article_id, reason, when)


DELETED = "deleted: the source withdrew the article"
_WHAT = {Action.EDIT: "edit", Action.MARK: "mark", Action.DELETE: "delete"}
_DONE = {Action.EDIT: "edited", Action.MARK: "marked as withdrawn", Action.DELETE: "deleted"}
_RESULT = {Action.EDIT: "edited", Action.MARK: "marked", Action.DELETE: "deleted"}


def _renamed(edited: Edited) -> str:
    if edited.renamed is None:
        return ""
    return ", renamed" if edited.renamed else " (Discord's rename limit kept the old name)"
