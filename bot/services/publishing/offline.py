"""The Poster of the commands that run without Discord (the dry run, ``newsdesk status``)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.posts import PostSpec
from bot.domain.threads import ThreadSpec
from bot.services.publishing.ports import ChannelInfo, Edited, Posted


class OfflinePoster:
    """Every channel looks usable, in no known server; nothing can be sent.

    What it cannot know (permissions, servers) the dry run says in its output.
    """

    def ready(self) -> bool:
        return True

    def channel_info(self, channel_id: int) -> ChannelInfo | None:
        return ChannelInfo(None, f"channel {channel_id}")  # the server is unknown offline

    async def send(self, channel_id: int, post: PostSpec, nonce: str) -> Posted | None:
        raise RuntimeError("a dry run sends nothing")

    async def create_forum_post(
        self, channel_id: int, post: PostSpec, thread: ThreadSpec
    ) -> Posted:
        raise RuntimeError("a dry run sends nothing")

    async def start_thread(self, channel_id: int, message_id: int, thread: ThreadSpec) -> int:
        raise RuntimeError("a dry run sends nothing")

    async def find_post(
        self, channel_id: int, post: PostSpec, since: datetime, until: datetime
    ) -> Posted | None:
        return None

    async def edit_post(
        self,
        channel_id: int,
        message_id: int,
        post: PostSpec,
        *,
        forum_thread: int | None = None,
        name: str | None = None,
    ) -> Edited:
        raise RuntimeError("a dry run edits nothing")

    async def delete_post(
        self, channel_id: int, message_id: int, *, forum_thread: int | None = None
    ) -> None:
        raise RuntimeError("a dry run deletes nothing")

    async def crosspost(self, channel_id: int, message_id: int) -> None:
        raise RuntimeError("a dry run sends nothing")

    async def alert(self, channel_id: int, text: str) -> None:
        raise RuntimeError("a dry run sends nothing")
