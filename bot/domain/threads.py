"""Where a post goes in a channel: a message, a forum post with tags, a discussion thread (pure).

Which subscription options a channel's type uses is decided here once, for publishing, for
``/newsadmin preview`` and for status alike: an option that does not fit the channel (``thread``
in a forum, ``forum_tags`` in a text channel, ``crosspost`` outside announcement channels) is
ignored, and said to be.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.subscription import (
    DEFAULT_DIGEST_SIZE,
    DEFAULT_PER_RUN,
    DEFAULT_THREAD_ARCHIVE,
    THREAD_ARCHIVE_MINUTES,
)
from bot.domain.subscription import SubscriptionSpec as Spec

THREAD_NAME_LIMIT = 100
MAX_APPLIED_TAGS = 5  # Discord's limit per forum post
UNTITLED = "Untitled"
_WHITESPACE = re.compile(r"\s+")


class ChannelKind(StrEnum):
    TEXT = "text"
    ANNOUNCEMENT = "announcement"
    FORUM = "forum"
    MEDIA = "media"
    THREAD = "thread"
    VOICE = "voice"  # the text chat of a voice channel

    @property
    def forum(self) -> bool:
        """Each post is a thread of its own (no plain messages, no nonce)."""
        return self in (ChannelKind.FORUM, ChannelKind.MEDIA)


@dataclass(frozen=True, slots=True)
class ForumTag:
    id: int
    name: str
    moderated: bool = False  # only members with Manage Threads may apply it


@dataclass(frozen=True, slots=True)
class ThreadSpec:
    """A thread to create: a forum post, or a discussion thread on a posted message."""

    name: str
    archive_minutes: int
    tag_ids: tuple[int, ...] = ()


def thread_name(title: str) -> str:
    """A thread's name from an article's raw title: whitespace collapsed, no markdown escaping
    (names are not rendered), at most 100 characters cut at a word, ``Untitled`` when empty."""
    name = _WHITESPACE.sub(" ", title).strip()
    if not name:
        return UNTITLED
    if len(name) <= THREAD_NAME_LIMIT:
        return name
    cut = name[: THREAD_NAME_LIMIT + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space >= THREAD_NAME_LIMIT // 2 else cut[:THREAD_NAME_LIMIT]).rstrip()


def archive_minutes(spec: Spec) -> int:
    return THREAD_ARCHIVE_MINUTES.get(
        spec.thread_archive, THREAD_ARCHIVE_MINUTES[DEFAULT_THREAD_ARCHIVE]
    )


class NoTagPossible(Exception):
    """The forum requires a tag and none can be applied: the subscription cannot post there."""


def pick_tags(
    topics: Sequence[str],
    tags: Sequence[ForumTag],
    *,
    auto: bool,
    required: bool,
    may_moderate: bool,
) -> tuple[int, ...]:
    """The forum's tags for an article: with ``auto``, those whose names match its topics
    (case-insensitive, in the article's topic order, at most 5); when the forum requires a tag
    and none matched, its first tag the bot may apply. Moderated tags need Manage Threads."""
    usable = [tag for tag in tags if may_moderate or not tag.moderated]
    chosen: list[int] = []
    if auto:
        by_name: dict[str, int] = {}
        for tag in usable:
            by_name.setdefault(tag.name.casefold().strip(), tag.id)
        for topic in topics:
            tag_id = by_name.get(topic.casefold().strip())
            if tag_id is not None and tag_id not in chosen:
                chosen.append(tag_id)
    if not chosen and required:
        if not tags:
            raise NoTagPossible("the forum requires a tag on every post and has no tags")
        if not usable:
            raise NoTagPossible(
                "the forum requires a tag on every post and all its tags are moderated: "
                "grant the bot Manage Threads"
            )
        chosen.append(usable[0].id)
    return tuple(chosen[:MAX_APPLIED_TAGS])


def thread_too_late(spec: Spec, sent_at: datetime | None, now: datetime) -> bool:
    """A discussion thread that could not be started (Discord failing) within its archive
    duration of the post is given up: by then it would open on a post nobody is discussing,
    and an owed thread is not retried on every run for ever."""
    return sent_at is not None and now - sent_at > timedelta(minutes=archive_minutes(spec))


def starts_thread(spec: Spec, kind: ChannelKind) -> bool:
    """A discussion thread under each post: asked for, and in a channel that has messages."""
    return spec.thread and kind in (ChannelKind.TEXT, ChannelKind.ANNOUNCEMENT)


def ignored_options(spec: Spec, kind: ChannelKind) -> tuple[str, ...]:
    """The options set on this subscription that its channel's type (or its mode) does not
    use."""
    out = []
    if spec.mode == "digest" and spec.max_per_run != DEFAULT_PER_RUN:
        out.append(
            "max_per_run for new posts (a digest carries digest_size articles; max_per_run "
            "still bounds the edits a run makes)"
        )
    if spec.mode != "digest" and spec.digest_size != DEFAULT_DIGEST_SIZE:
        out.append("digest_size (only in digest mode)")
    if spec.thread and kind not in (ChannelKind.TEXT, ChannelKind.ANNOUNCEMENT):
        out.append(
            "thread (a forum post is a thread already)"
            if kind.forum
            else "thread (only in text and announcement channels)"
        )
    if spec.forum_tags != "auto" and not kind.forum:
        out.append("forum_tags (only in forum channels)")
    if spec.crosspost and kind is not ChannelKind.ANNOUNCEMENT:
        out.append("crosspost (only in announcement channels)")
    return tuple(out)
