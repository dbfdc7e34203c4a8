"""What publishing needs from Discord (implemented by bot.discord_io.poster.DiscordPoster)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.posts import PostSpec


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


class HistoryUnavailable(DeliveryError):
    """The channel's history cannot be read (no Read Message History)."""


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    guild_id: int | None
    name: str
    problem: str | None = None  # why the bot cannot post there now; None: it can


class Channels(Protocol):
    """What the gateway cache knows about channels (no requests)."""

    def ready(self) -> bool:
        """Connected, with every guild available: channel_info can be trusted."""

    def channel_info(self, channel_id: int) -> ChannelInfo | None:
        """None when the channel is unknown to the bot."""


class Poster(Channels, Protocol):
    """The Discord side of publishing (tests use the real one against a fake Discord)."""

    async def send(self, channel_id: int, post: PostSpec, nonce: str) -> int | None:
        """Send the post; return the message id (None: a moderator already deleted it).

        Raises DeliveryError subclasses.
        """

    async def find_post(
        self, channel_id: int, post: PostSpec, since: datetime, until: datetime
    ) -> int | None:
        """The id of the bot's message for this post sent in [since, until], if any."""

    async def crosspost(self, channel_id: int, message_id: int) -> None: ...

    async def alert(self, channel_id: int, text: str) -> None: ...
