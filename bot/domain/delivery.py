"""Deliveries: one per (channel, article), the record that makes posting exactly-once (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

NONCE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class DeliveryState(StrEnum):
    """Where a delivery stands. Stored as its value (see the deliveries table)."""

    PENDING = "pending"  # the intent is recorded; the outcome is unknown until reconciled
    SENT = "sent"
    UNCONFIRMED = "unconfirmed"  # could not be checked after a crash; never re-sent
    QUARANTINED = "quarantined"  # Discord rejected the post as malformed
    FAILED = "failed"  # gave up after bounded retries
    SKIPPED = "skipped"  # same story as an article already posted there

    @property
    def posted(self) -> bool:
        """The article may be in the channel: never post it there again, count it as posted
        for the same-story rule and for export."""
        return self in POSTED

    @property
    def final(self) -> bool:
        """A state other than sent that ends the delivery."""
        return self in (DeliveryState.UNCONFIRMED, DeliveryState.QUARANTINED, DeliveryState.FAILED)


class ThreadState(StrEnum):
    """A post's discussion thread (or forum post thread). Stored as its value."""

    OWED = "owed"  # wanted; not yet known to exist (started after the post is confirmed)
    STARTED = "started"
    NONE = "none"  # could not be made (no permission, thread limit, post deleted): never retried


POSTED = frozenset({DeliveryState.SENT, DeliveryState.PENDING, DeliveryState.UNCONFIRMED})
# For SQL: "state IN (...)" with the posted states, in a fixed order.
POSTED_SQL = ", ".join(f"'{state.value}'" for state in sorted(POSTED, key=lambda s: s.value))


@dataclass(frozen=True, slots=True)
class Delivery:
    channel_id: int
    article_id: int
    subscription_id: int | None
    state: DeliveryState
    nonce: str
    intent_at: datetime
    last_attempt_at: datetime
    attempts: int
    next_attempt_at: datetime | None = None
    message_id: int | None = None
    sent_at: datetime | None = None
    error: str | None = None
    guild_id: int | None = None
    thread_id: int | None = None
    thread_state: ThreadState | None = None
    shown_hash: str | None = None  # what the message shows (bot.domain.edits); None: unknown
    edit_attempts: int = 0  # failed attempts at the edit now due
    edit_due: bool = False  # queued for an edit or a removal action (bot.store.edits)
    gone: bool = False  # Discord said the post was deleted
    digest: bool = False  # one of the articles of a digest message (its nonce names the digest)


def nonce_for(channel_id: int, article_url: str) -> str:
    """Deterministic, at most 25 characters, different per channel and per article."""
    return _nonce(f"{channel_id}\n{article_url}")


def digest_nonce(channel_id: int, article_ids: Iterable[int]) -> str:
    """A digest's nonce: deterministic from its channel and its sorted article ids, never
    equal to a post's (the text hashed has no URL), at most 25 characters."""
    ids = ",".join(str(i) for i in sorted(article_ids))
    return _nonce(f"{channel_id}\ndigest\n{ids}")


def _nonce(text: str) -> str:
    digest = hashlib.blake2b(text.encode(), digest_size=15).digest()
    number = int.from_bytes(digest, "big")
    chars: list[str] = []
    while number and len(chars) < 23:
        number, rest = divmod(number, 36)
        chars.append(NONCE_ALPHABET[rest])
    return "nd" + "".join(chars)
