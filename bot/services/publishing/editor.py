"""Edits inside a publishing run: posts follow their article when what it shows changed, and
when it left its source (``on_removed``).

Ingest queues the posts of a changed or withdrawn article (store.edits, store.withdrawals); a
run of the channel makes at most ``max_per_run`` edits, marks and deletions, newest posts
first, after reconciliation and before new posts, paced like posts (bot.domain.edits decides
which each post needs). Once Discord confirmed a change, the delivery records what the post
shows (due again if the article changed since); what a refusal means is edit_outcomes.py.

A digest is changed as a whole: when any of its articles changed, the whole message is
rendered again (each article as it is now, a withdrawn one as withdrawn when on_removed marks
or deletes); it is deleted only when every article it carries was withdrawn and on_removed is
delete (otherwise delete acts as mark). The run's budget (max_per_run) counts messages: a
digest is one, however many of its articles changed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from bot.domain.delivery import Delivery
from bot.domain.digests import DigestItem, digest_title, in_digest_order, shown_withdrawn
from bot.domain.edits import (
    Action,
    digest_action,
    edit_cutoff,
    next_action,
    shown_digest,
)
from bot.domain.models import Article
from bot.domain.posts import PostSpec, build_withdrawn_post
from bot.domain.subscription import MAX_DIGEST_SIZE, Subscription
from bot.domain.threads import thread_name
from bot.log import with_ids
from bot.metrics import Metrics
from bot.services.publishing.edit_outcomes import EditOutcomes
from bot.services.publishing.pacing import Pacer
from bot.services.publishing.ports import (
    ChannelInfo,
    Edited,
    Poster,
)
from bot.services.publishing.sender import RunReport, Sender
from bot.store.article_reads import ArticleReads
from bot.store.digests import DigestOutbox
from bot.store.edits import EditQueue

log = logging.getLogger(__name__)


class Editor:
    def __init__(
        self,
        queue: EditQueue,
        digests: DigestOutbox,
        articles: ArticleReads,
        poster: Poster,
        sender: Sender,
        outcomes: EditOutcomes,
        *,
        clock: Callable[[], datetime],
        metrics: Metrics,
    ) -> None:
        self.queue = queue
        self.digests = digests
        self.articles = articles
        self.poster = poster
        self.sender = sender
        self.outcomes = outcomes
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
        budget = sub.spec.max_per_run  # messages: a digest counts once, however many changed
        due = await self.queue.due(
            sub.channel_id,
            now=now,
            cutoff=edit_cutoff(sub.spec.edit_window, now),
            limit=budget * (MAX_DIGEST_SIZE if sub.digest else 1),
        )
        if not due:
            return
        messages = (await self._messages(sub.channel_id, due))[:budget]
        found = await self.articles.get_many(sorted({d.article_id for g in messages for d in g}))
        articles = {a.id: a for a in found}
        for group in messages:
            if stopping():
                return
            for delivery in group:
                if delivery.article_id not in articles:
                    await self.queue.give_up(
                        sub.channel_id, delivery.article_id, "article not stored"
                    )
            group = [d for d in group if d.article_id in articles]
            if not group:
                continue
            pairs = [(d, articles[d.article_id]) for d in group]
            if group[0].digest:
                done = await self._digest(sub, info, pairs, report, pacer)
            else:
                done = await self._one(sub, info, group[0], pairs[0][1], report, pacer)
            if not done:
                return

    async def _messages(self, channel_id: int, due: list[Delivery]) -> list[list[Delivery]]:
        """The due posts by message: a post alone, a digest with every article it carries."""
        messages: list[list[Delivery]] = []
        seen: set[str] = set()
        for delivery in due:
            if not delivery.digest:
                messages.append([delivery])
            elif delivery.nonce not in seen:
                seen.add(delivery.nonce)
                carried = await self.digests.of(channel_id, delivery.nonce)
                messages.append(
                    [d for d in carried if d.message_id == delivery.message_id and not d.gone]
                )
        return messages

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
        action = _action(sub, delivery, article)
        if action is Action.NOTHING:
            await self._unchanged(channel_id, [(delivery, article)])
            return True
        assert delivery.message_id is not None  # only posts that stand are queued
        thread = _forum_thread(info, delivery)
        if action is Action.DELETE and thread and not info.may_moderate:
            await self._cannot_delete(sub, [delivery], article.url)
            return True
        await pacer.wait()
        if action is Action.DELETE and not await self._still_withdrawn([article_id]):
            return True  # it came back while this run waited: the next run shows it again
        if action is Action.DELETE:
            call: Callable[[], Awaitable[Edited]] = self._deleting(channel_id, delivery, thread)
        else:
            post = (
                build_withdrawn_post(article)
                if action is Action.MARK
                else self.sender.post_for(sub, article)
            )
            name = thread_name(article.title) if thread and action is Action.EDIT else None
            call = self._editing(channel_id, delivery, post, thread, name)
        edited = await self.outcomes.attempt(sub, [delivery], action, article.url, call)
        if not isinstance(edited, Edited):
            return edited
        if action is Action.DELETE:
            await self.queue.gone(channel_id, article_id, DELETED)
        elif action is Action.MARK:
            await self.queue.marked(channel_id, article_id)
        else:
            await self.queue.edited(channel_id, article_id, shown)
        self._done(sub, action, [article_id], article.url, report, _renamed(edited))
        return True

    async def _digest(
        self,
        sub: Subscription,
        info: ChannelInfo,
        pairs: list[tuple[Delivery, Article]],
        report: RunReport,
        pacer: Pacer,
    ) -> bool:
        """One queued digest, changed as a whole. False: make no more edits in this run."""
        channel_id, first = sub.channel_id, pairs[0][0]
        action = digest_action([_action(sub, d, a) for d, a in pairs])
        if action is Action.NOTHING:
            await self._unchanged(channel_id, pairs)
            return True
        group = [d for d, _ in pairs]
        what = f"a digest of {len(pairs)} articles"
        assert first.message_id is not None
        thread = _forum_thread(info, first)
        if action is Action.DELETE:
            if thread and not info.may_moderate:
                await self._cannot_delete(sub, group, what)
                return True
            await pacer.wait()
            if not await self._still_withdrawn([d.article_id for d in group]):
                return True
            call = self._deleting(channel_id, first, thread)
            if not isinstance(
                edited := await self.outcomes.attempt(sub, group, Action.DELETE, what, call), Edited
            ):
                return edited
            for delivery in group:
                await self.queue.gone(channel_id, delivery.article_id, DELETED)
            self._done(sub, Action.DELETE, _ids(group), what, report, "")
            return True
        by_article = {a.id: (d, a) for d, a in pairs}
        items = [
            DigestItem(
                a,
                withdrawn=shown_withdrawn(
                    a.withdrawn_at is not None, sub.spec.on_removed, by_article[a.id][0].shown_hash
                ),
            )
            for a in in_digest_order([a for _, a in pairs])
        ]
        title = digest_title(min(d.intent_at for d in group), sub.spec.timezone)
        post = self.sender.digest_post(sub, items, title)
        await pacer.wait()
        call = self._editing(channel_id, first, post, thread, None)
        if not isinstance(
            edited := await self.outcomes.attempt(sub, group, Action.EDIT, what, call), Edited
        ):
            return edited
        for item in items:
            article_id = item.article.id or 0
            if item.withdrawn:
                await self.queue.marked(channel_id, article_id)
                continue
            await self.queue.edited(channel_id, article_id, shown_digest(item.article))
            if item.article.withdrawn_at is not None:  # on_removed keep: shown as it was
                await self.queue.settle(channel_id, article_id)
        self._done(sub, Action.EDIT, _ids(group), what, report, "")
        return True

    async def _unchanged(self, channel_id: int, pairs: Sequence[tuple[Delivery, Article]]) -> None:
        """Queued, yet nothing to do: changed and changed back before the edit, or withdrawn
        with nothing for on_removed to do."""
        for delivery, article in pairs:
            if not delivery.edit_due:
                continue
            self.metrics.edits.labels("unchanged").inc()
            if article.withdrawn_at is None:
                await self.queue.edited(channel_id, delivery.article_id, shown_digest(article))
            else:
                await self.queue.settle(channel_id, delivery.article_id)

    async def _cannot_delete(self, sub: Subscription, group: list[Delivery], what: str) -> None:
        reason = "deleting a forum post needs the Manage Threads permission"
        with_ids(log, **sub.ids, article_id=group[0].article_id).warning(
            "not deleting the post of withdrawn %s: %s", what, reason
        )
        self.metrics.edits.labels("failed").inc()
        for delivery in group:
            await self.queue.settle(sub.channel_id, delivery.article_id, reason)

    def _deleting(
        self, channel_id: int, delivery: Delivery, thread: int | None
    ) -> Callable[[], Awaitable[Edited]]:
        async def call() -> Edited:
            assert delivery.message_id is not None
            await self.poster.delete_post(channel_id, delivery.message_id, forum_thread=thread)
            return Edited()

        return call

    def _editing(
        self,
        channel_id: int,
        delivery: Delivery,
        post: PostSpec,
        thread: int | None,
        name: str | None,
    ) -> Callable[[], Awaitable[Edited]]:
        async def call() -> Edited:
            assert delivery.message_id is not None
            return await self.poster.edit_post(
                channel_id, delivery.message_id, post, forum_thread=thread, name=name
            )

        return call

    def _done(
        self,
        sub: Subscription,
        action: Action,
        article_ids: list[int],
        what: str,
        report: RunReport,
        note: str,
    ) -> None:
        self.metrics.edits.labels(_RESULT[action]).inc()
        report.edited += article_ids
        with_ids(log, **sub.ids, article_id=article_ids[0]).info(
            "%s the post of %s%s", _DONE[action], what, note
        )

    async def _still_withdrawn(self, article_ids: list[int]) -> bool:
        """Every one of them is still withdrawn (re-read after the pacing wait)."""
        found = await self.articles.get_many(article_ids)
        return len(found) == len(article_ids) and all(a.withdrawn_at is not None for a in found)


def _action(sub: Subscription, delivery: Delivery, article: Article) -> Action:
    return next_action(
        withdrawn=article.withdrawn_at is not None,
        on_removed=sub.spec.on_removed,
        edits=sub.spec.edits,
        post_shows=delivery.shown_hash,
        article_shows=shown_digest(article),
    )


def _forum_thread(info: ChannelInfo, delivery: Delivery) -> int | None:
    """A forum post's thread (the post is its starter message); None in other channels."""
    if not info.kind.forum:
        return None
    return delivery.thread_id or delivery.message_id


def _ids(group: list[Delivery]) -> list[int]:
    return [d.article_id for d in group]


DELETED = "deleted: the source withdrew the article"
_DONE = {Action.EDIT: "edited", Action.MARK: "marked as withdrawn", Action.DELETE: "deleted"}
_RESULT = {Action.EDIT: "edited", Action.MARK: "marked", Action.DELETE: "deleted"}


def _renamed(edited: Edited) -> str:
    if edited.renamed is None:
        return ""
    return ", renamed" if edited.renamed else " (Discord's rename limit kept the old name)"
