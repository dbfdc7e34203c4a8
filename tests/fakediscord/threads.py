"""Forum posts and threads in the fake REST API.

What Discord does and the fake copies: a forum post is a thread whose starter message has the
thread's id; a thread started on a message has the message's id (a second attempt answers
160004); the server-wide cap of active threads answers 160006; a forum that requires a tag
refuses a post without one (40067) and a moderated tag needs Manage Threads; archived threads
take no edits but the one that unarchives them (50083) and locked ones need Manage Threads to
reopen (160005); archived threads are listed newest archive first, ``before`` an ISO time.
"""

from __future__ import annotations

import time
from datetime import datetime

from . import permissions as p
from .rest import (
    MAX_ACTIVE_THREADS,
    TAG_REQUIRED,
    THREAD_ARCHIVED,
    THREAD_EXISTS,
    WRONG_CHANNEL_TYPE,
    ApiError,
    Ctx,
    RateLimitHit,
    Reply,
    RestApi,
    form_error,
)
from .state import (
    FORUM_TYPES,
    HAS_THREAD_FLAG,
    JSON,
    NEWS_CHANNEL,
    NEWS_THREAD,
    PUBLIC_THREAD,
    REQUIRE_TAG_FLAG,
    TEXT_CHANNEL,
    FakeChannel,
    FakeMessage,
    ThreadMeta,
    now_iso,
)
from .validation import ErrorTree, is_empty_message, validate_message

ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
MAX_TAGS = 5
# Discord lets a thread (any channel) be renamed about twice per ten minutes; the 429 says
# how long is left, far more than discord.py waits with max_ratelimit_timeout.
RENAMES, RENAME_WINDOW = 2, 600.0


class ThreadsApi:
    """The thread endpoints, registered on a :class:`RestApi` (whose helpers they use)."""

    def __init__(self, rest: RestApi) -> None:
        self.rest = rest
        self.fake = rest.fake
        self.renames: dict[int, list[float]] = {}  # per thread: when it was renamed
        r = rest._route
        r("POST", "/channels/{channel_id}/threads", self.create_forum_post)
        r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.start_on_message)
        r("GET", "/guilds/{guild_id}/threads/active", self.active)
        r("GET", "/channels/{channel_id}/threads/archived/public", self.archived)
        r("PATCH", "/channels/{channel_id}", self.edit_thread)
        r("DELETE", "/channels/{channel_id}", self.delete_thread)

    # ---------------------------------------------------------------- helpers

    def _check_name_and_archive(self, body: JSON) -> ErrorTree:
        tree = ErrorTree()
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            tree.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        archive = body.get("auto_archive_duration", 1440)
        if archive not in ARCHIVE_DURATIONS:
            tree.add(
                ("auto_archive_duration",),
                "BASE_TYPE_CHOICES",
                "Value must be one of 60, 1440, 4320, 10080.",
            )
        return tree

    def _count_rename(self, thread_id: int) -> None:
        now = time.monotonic()
        recent = [t for t in self.renames.get(thread_id, []) if now - t < RENAME_WINDOW]
        if len(recent) >= RENAMES:
            raise RateLimitHit(RENAME_WINDOW - (now - recent[0]))
        self.renames[thread_id] = [*recent, now]

    def _active_count(self, guild_id: int) -> int:
        guild = self.fake.state.guild(guild_id)
        return sum(1 for c in guild.channels.values() if c.thread and not c.thread.archived)

    def _new_thread(
        self, parent: FakeChannel, thread_id: int, body: JSON, kind: int
    ) -> FakeChannel:
        state = self.fake.state
        if self._active_count(parent.guild_id) >= self.fake.max_active_threads:
            raise ApiError(400, MAX_ACTIVE_THREADS, "Maximum number of active threads reached")
        thread = FakeChannel(
            thread_id,
            parent.guild_id,
            str(body["name"]),
            type=kind,
            parent_id=parent.id,
            thread=ThreadMeta(
                owner_id=state.bot_id,
                auto_archive_duration=int(body.get("auto_archive_duration", 1440)),
            ),
        )
        state.guild(parent.guild_id).channels[thread.id] = thread
        state.channels[thread.id] = thread
        return thread

    def _emit_thread(self, event: str, thread: FakeChannel, **extra: object) -> None:
        self.fake._emit(event, thread.payload() | extra, guild_id=thread.guild_id)

    def _thread(self, ctx: Ctx) -> FakeChannel:
        channel = self.rest._channel(ctx)
        if channel.thread is None:
            raise ApiError(400, WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type")
        return channel

    # -------------------------------------------------------------- endpoints

    async def create_forum_post(self, ctx: Ctx) -> Reply:
        fake = self.fake
        state = fake.state
        forum = self.rest._channel(ctx)
        if forum.type not in FORUM_TYPES:
            raise ApiError(400, WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type")
        self.rest._require(forum, p.SEND_MESSAGES)
        body = ctx.body()
        tree = self._check_name_and_archive(body)
        message: JSON = self.rest._with_uploads(
            Ctx(
                ctx.request,
                ctx.method,
                ctx.path,
                ctx.params,
                ctx.query,
                body.get("message") or {},
                ctx.files,
            ),
            forum.id,
        )
        for key, errors in validate_message(message).errors.items():
            tree.errors.setdefault("message", {})[key] = errors
        tags = [int(t) for t in body.get("applied_tags") or []]
        known = {int(t["id"]): t for t in forum.available_tags}
        if len(tags) > MAX_TAGS or any(t not in known for t in tags):
            tree.add(
                ("applied_tags",), "BASE_TYPE_CHOICES", "Value must be one of the channel's tags."
            )
        if tree:
            raise form_error(tree)
        if is_empty_message(message):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if not tags and forum.flags & REQUIRE_TAG_FLAG:
            raise ApiError(
                400, TAG_REQUIRED, "A tag is required to create a forum post in this channel"
            )
        if any(known[t].get("moderated") for t in tags):
            self.rest._require(forum, p.SEND_MESSAGES | p.MANAGE_THREADS)
        thread = self._new_thread(forum, state.snowflakes.next(), body, PUBLIC_THREAD)
        thread.thread.applied_tags = tags  # type: ignore[union-attr]
        starter = self._starter(thread, message)
        forum.last_thread_id = thread.id
        self._emit_thread("THREAD_CREATE", thread, newly_created=True)
        fake.emit_message("MESSAGE_CREATE", starter)
        await self.rest.hold_if_hung(forum.id, starter.id)
        return Reply(201, thread.payload() | {"message": self.rest._payload(starter)})

    def _starter(self, thread: FakeChannel, body: JSON) -> FakeMessage:
        """The post's first message, whose id is the thread's (as Discord makes it)."""
        state = self.fake.state
        msg = state.new_message(thread, state.bot_id, body, store_in_channel=False)
        del state.messages[msg.id]
        msg.id = thread.id
        state.messages[msg.id] = msg
        thread.messages.append(msg)
        return msg

    async def start_on_message(self, ctx: Ctx) -> Reply:
        state = self.fake.state
        channel = self.rest._channel(ctx)
        if channel.type not in (TEXT_CHANNEL, NEWS_CHANNEL):
            raise ApiError(400, WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type")
        self.rest._require(channel, p.CREATE_PUBLIC_THREADS | p.READ_MESSAGE_HISTORY)
        msg = self.rest._message_in(channel, ctx)
        if msg.id in state.channels:
            raise ApiError(400, THREAD_EXISTS, "A thread has already been created for this message")
        body = ctx.body()
        tree = self._check_name_and_archive(body)
        if tree:
            raise form_error(tree)
        kind = NEWS_THREAD if channel.type == NEWS_CHANNEL else PUBLIC_THREAD
        thread = self._new_thread(channel, msg.id, body, kind)
        msg.flags |= HAS_THREAD_FLAG
        self._emit_thread("THREAD_CREATE", thread, newly_created=True)
        self.fake.emit_message("MESSAGE_UPDATE", msg)
        return Reply(201, thread.payload())

    async def active(self, ctx: Ctx) -> Reply:
        guild = self.fake.state.guild(self.rest._guild_id(ctx))
        threads = [
            c.payload() for c in guild.channels.values() if c.thread and not c.thread.archived
        ]
        return Reply(200, {"threads": threads, "members": []})

    async def archived(self, ctx: Ctx) -> Reply:
        channel = self.rest._channel(ctx)
        self.rest._require(channel, p.READ_MESSAGE_HISTORY)
        limit = int(ctx.query.get("limit", 50))
        before = ctx.query.get("before")
        cutoff = datetime.fromisoformat(before) if before else None
        archived = sorted(
            (
                c
                for c in self.fake.state.guild(channel.guild_id).channels.values()
                if c.thread and c.thread.archived and c.parent_id == channel.id
            ),
            key=lambda c: c.thread.archive_timestamp,  # type: ignore[union-attr]
            reverse=True,
        )
        if cutoff is not None:
            archived = [
                c
                for c in archived
                if datetime.fromisoformat(c.thread.archive_timestamp) < cutoff  # type: ignore[union-attr]
            ]
        page = archived[:limit]
        return Reply(
            200,
            {
                "threads": [c.payload() for c in page],
                "members": [],
                "has_more": len(archived) > limit,
            },
        )

    async def edit_thread(self, ctx: Ctx) -> Reply:
        thread = self._thread(ctx)
        meta = thread.thread
        assert meta is not None
        body = ctx.body()
        owner = meta.owner_id == self.fake.state.bot_id
        self.rest._require(thread, p.VIEW_CHANNEL if owner else p.MANAGE_THREADS)
        if (meta.locked and body.get("archived") is False) or "locked" in body:
            self.rest._require(thread, p.MANAGE_THREADS)
        if meta.archived and body.get("archived") is not False:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is archived")
        if "name" in body:
            tree = self._check_name_and_archive({"name": body["name"]})
            if tree:
                raise form_error(tree)
            if str(body["name"]) != thread.name:
                self._count_rename(thread.id)
            thread.name = str(body["name"])
        if "applied_tags" in body:
            meta.applied_tags = [int(t) for t in body["applied_tags"] or []]
        if "locked" in body:
            meta.locked = bool(body["locked"])
        if "auto_archive_duration" in body:
            meta.auto_archive_duration = int(body["auto_archive_duration"])
        if "archived" in body and bool(body["archived"]) != meta.archived:
            meta.archived = bool(body["archived"])
            meta.archive_timestamp = now_iso()
        self._emit_thread("THREAD_UPDATE", thread)
        return Reply(200, thread.payload())

    async def delete_thread(self, ctx: Ctx) -> Reply:
        thread = self._thread(ctx)
        self.rest._require(thread, p.MANAGE_THREADS)
        self.fake.remove_thread(thread.id)
        return Reply(200, thread.payload())
