"""What publishing needs from Discord (implemented by bot.discord_io.poster.DiscordPoster)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.posts import PostSpec
from bot.domain.threads import ChannelKind, ForumTag, ThreadSpec


class DeliveryError(Exception):
    """Why a post could not be made (classified for the publisher by the Poster)."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class ChannelUnavailable(DeliveryError):
    """The channel is gone or the bot may not post there: pause the subscription."""


class PostRejected(DeliveryError):
    """Discord refused this post as malformed: quarantine the article for that channel."""


class TransientError(DeliveryError):
    """5xx, network trouble, a long rate limit: the outcome is unknown, try again later."""


class RateLimited(TransientError):
    """Discord asks for a longer wait than a run makes: an edit waits for the next run."""


class PostLocked(DeliveryError):
    """A moderator locked the forum post: it is not edited."""


class HistoryUnavailable(DeliveryError):
    """The channel's history cannot be read (no Read Message History)."""


class PostGone(DeliveryError):
    """The posted message (or forum post) was deleted: record it, never recreate it."""


class ThreadsUnavailable(DeliveryError):
    """No thread can be started here now (no permission, the server's active-thread limit);
    the post stands without one."""


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    guild_id: int | None
    name: str
    problem: str | None = None  # why the bot cannot post there now; None: it can
    kind: ChannelKind = ChannelKind.TEXT
    tags: tuple[ForumTag, ...] = ()  # a forum's tags
    requires_tag: bool = False  # a forum that refuses posts without a tag
    may_moderate: bool = False  # Manage Threads: moderated tags, deleting forum posts
    thread_problem: str | None = None  # why no discussion thread can be started; None: it can


@dataclass(frozen=True, slots=True)
class Posted:
    """Where a post is: its message, and the thread it is in or starts (a forum post's thread
    has the starter message's id)."""

    message_id: int
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class Edited:
    """What an edit did besides the message: ``renamed`` None when the name was right already,
    False when Discord's rename limit skipped it."""

    renamed: bool | None = None


class Channels(Protocol):
    """What the gateway cache knows about channels (no requests)."""

    def ready(self) -> bool:
        """Connected, with every guild available: channel_info can be trusted."""

    def channel_info(self, channel_id: int) -> ChannelInfo | None:
        """None when the channel is unknown to the bot."""


class Poster(Channels, Protocol):
    """The Discord side of publishing (tests use the real one against a fake Discord)."""

    async def send(self, channel_id: int, post: PostSpec, nonce: str) -> Posted | None:
        """Send the post as a message; None: a moderator already deleted it.

        Raises DeliveryError subclasses.
        """

    async def create_forum_post(
        self, channel_id: int, post: PostSpec, thread: ThreadSpec
    ) -> Posted:
        """Create a forum post (a thread whose starter message is the post). Takes no nonce:
        the outbox alone keeps it exactly-once. Raises DeliveryError subclasses."""

    async def start_thread(self, channel_id: int, message_id: int, thread: ThreadSpec) -> int:
        """Start the discussion thread on a posted message; its id (the message's), also when
        it exists already. Raises ThreadsUnavailable, TransientError, PostRejected."""

    async def find_post(
        self, channel_id: int, post: PostSpec, since: datetime, until: datetime
    ) -> Posted | None:
        """The bot's message (or forum post) for this post made in [since, until], if any."""

    async def edit_post(
        self,
        channel_id: int,
        message_id: int,
        post: PostSpec,
        *,
        forum_thread: int | None = None,
        name: str | None = None,
    ) -> Edited:
        """Edit the post's embed and buttons (not its content: no mention again).
        ``forum_thread``: the post is that forum thread's starter, unarchived for the edit and
        archived again, and renamed to ``name`` when it differs (best effort). Raises PostGone,
        PostLocked, RateLimited, TransientError, PostRejected, ChannelUnavailable."""

    async def delete_post(
        self, channel_id: int, message_id: int, *, forum_thread: int | None = None
    ) -> None:
        """Delete the post (``forum_thread``: the forum post, its thread with it). Raises
        PostGone, RateLimited, TransientError, PostRejected, ChannelUnavailable."""

    async def crosspost(self, channel_id: int, message_id: int) -> None: ...

    async def alert(self, channel_id: int, text: str) -> None: ...
