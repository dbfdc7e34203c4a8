"""Delivery records as exported data: one JSON object per (article URL, channel) (pure).

``newsdesk export --deliveries FILE`` writes them as JSON lines; ``newsdesk ingest
--deliveries FILE`` restores them. Exports made before that carried them inside each article,
as ``newsdeskDeliveries`` (without ``url``); ingest still reads those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.delivery import DeliveryState, ThreadState

INLINE_FIELD = "newsdeskDeliveries"  # in articles of older exports
MAX_SNOWFLAKE = 2**63 - 1


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    url: str  # the article's canonical URL
    channel_id: int
    state: DeliveryState
    nonce: str
    intent_at: datetime
    last_attempt_at: datetime
    attempts: int
    guild_id: int | None = None
    message_id: int | None = None
    sent_at: datetime | None = None
    error: str | None = None
    thread_id: int | None = None  # the forum post, or the discussion thread on the message
    thread_state: ThreadState | None = None
    thread_error: str | None = None
    digest: bool = False  # one of the articles of a digest message (its nonce names it)


def stamp(moment: datetime) -> str:
    """A time as exported (and stored): UTC, microseconds, a 'Z'."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:26] + "Z"


def to_json(record: DeliveryRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "url": record.url,
        "channelId": record.channel_id,
        "guildId": record.guild_id,
        "state": record.state.value,
        "nonce": record.nonce,
        "intentAt": stamp(record.intent_at),
        "lastAttemptAt": stamp(record.last_attempt_at),
        "attempts": record.attempts,
        "messageId": record.message_id,
        "sentAt": stamp(record.sent_at) if record.sent_at else None,
        "error": record.error,
        "threadId": record.thread_id,
        "threadState": record.thread_state.value if record.thread_state else None,
        "threadError": record.thread_error,
        "digest": True if record.digest else None,
    }
    return {k: v for k, v in out.items() if v is not None}


def to_line(record: DeliveryRecord) -> str:
    return json.dumps(to_json(record), ensure_ascii=False, separators=(",", ":"))


def _snowflake(value: Any, name: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SNOWFLAKE:
        raise ValueError(f"{name}: expected a Discord id")
    return value


def _moment(value: Any, name: str, *, required: bool = False) -> datetime | None:
    if value is None and not required:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"{name}: expected a time such as 2021-01-01T00:00:00.000000Z")
    return moment


def from_json(data: Any, url: str | None = None) -> DeliveryRecord:
    """A record from export data (``url`` for an inline one); ValueError says what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("expected an object")
    url = url if url is not None else data.get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("url: missing")
    try:
        state = DeliveryState(str(data.get("state")))
    except ValueError:
        raise ValueError(f"state: unknown state {data.get('state')!r}") from None
    intent = _moment(data.get("intentAt"), "intentAt", required=True)
    assert intent is not None
    attempts = data.get("attempts", 1)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 0 <= attempts < 1000:
        raise ValueError("attempts: expected a whole number from 0 to 999")
    error = data.get("error")
    thread_error = data.get("threadError")
    thread_state = data.get("threadState")
    try:
        thread = ThreadState(thread_state) if thread_state is not None else None
    except ValueError:
        raise ValueError(f"threadState: unknown state {thread_state!r}") from None
    digest = data.get("digest", False)
    if not isinstance(digest, bool):
        raise ValueError("digest: expected true or false")
    channel = _snowflake(data.get("channelId"), "channelId", required=True)
    assert channel is not None
    return DeliveryRecord(
        url=url,
        channel_id=channel,
        state=state,
        nonce=str(data.get("nonce", ""))[:25],
        intent_at=intent,
        last_attempt_at=_moment(data.get("lastAttemptAt"), "lastAttemptAt") or intent,
        attempts=attempts,
        guild_id=_snowflake(data.get("guildId"), "guildId"),
        message_id=_snowflake(data.get("messageId"), "messageId"),
        sent_at=_moment(data.get("sentAt"), "sentAt"),
        error=error[:1000] if isinstance(error, str) else None,
        thread_id=_snowflake(data.get("threadId"), "threadId"),
        thread_state=thread,
        thread_error=thread_error[:1000] if isinstance(thread_error, str) else None,
        digest=digest,
    )
