"""What a feed added from Discord may be (pure): its URL, interval, quality and topics.

A URL typed in Discord is taken literally: ``${NAME}`` is never expanded (only the config
file's URLs are), credentials are refused (they would be shown to every moderator), and only
http and https are fetched. Where it may connect is decided when it is fetched (bot.net.fetch:
public addresses only, whatever ``fetch.allow_networks`` says).
"""

from __future__ import annotations

import re
from datetime import timedelta

from yarl import URL

from bot.domain.values import format_duration, parse_duration

SERVER_KEY_PREFIX = "server:"  # a server source's key in the store: this, its server, its URL
MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(days=1)
MAX_URL_CHARS = 2000
MAX_TOPICS = 10
MAX_TOPIC_CHARS = 100
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class InvalidServerSource(ValueError):
    """A source a moderator typed that cannot be added; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def feed_url(text: str) -> str:
    """The URL as it is stored and fetched (scheme and host in lower case), or raises."""
    text = text.strip()
    if not text:
        raise InvalidServerSource("Give the feed's URL, e.g. https://example.com/feed.xml.")
    if len(text) > MAX_URL_CHARS:
        raise InvalidServerSource(f"That URL is too long (at most {MAX_URL_CHARS} characters).")
    if _CONTROL.search(text):
        raise InvalidServerSource("A URL has no spaces or control characters in it.")
    try:
        url = URL(text)
    except ValueError as exc:  # a port out of range, a malformed host
        raise InvalidServerSource(f"That is not a URL ({exc}).") from None
    if url.scheme.lower() not in ("http", "https"):
        raise InvalidServerSource("Only http:// and https:// feeds can be added.")
    if not url.host:
        raise InvalidServerSource("That URL has no host name.")
    if url.user is not None or url.password is not None:
        raise InvalidServerSource(
            "A URL with a user name or password cannot be added from Discord (every moderator "
            "would see it): ask the operators to put the feed in the config file."
        )
    return str(url.with_fragment(None))


def server_source_key(guild_id: int, url: str) -> str:
    return f"{SERVER_KEY_PREFIX}{guild_id}:{url}"


def check_interval(interval: timedelta | str) -> timedelta:
    """``interval`` (``30m``, ``2h``, or a timedelta) if it is within the allowed range."""
    try:
        interval = parse_duration(interval)
    except ValueError as exc:
        raise InvalidServerSource(f"interval: {exc}.") from None
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise InvalidServerSource(
            f"A feed added from Discord is fetched every {format_duration(MIN_INTERVAL)} to "
            f"{format_duration(MAX_INTERVAL)}; {format_duration(interval)} is outside that."
        )
    return interval


def check_quality(quality: float) -> float:
    if not 0 <= quality <= 100:
        raise InvalidServerSource(f"Quality is from 0 to 100, not {quality:g}.")
    return quality


def check_topics(topics: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(" ".join(t.split()) for t in topics if t.strip()))
    if len(cleaned) > MAX_TOPICS:
        raise InvalidServerSource(f"At most {MAX_TOPICS} topics per feed.")
    for topic in cleaned:
        if len(topic) > MAX_TOPIC_CHARS:
            raise InvalidServerSource(f"A topic has at most {MAX_TOPIC_CHARS} characters.")
    return cleaned
