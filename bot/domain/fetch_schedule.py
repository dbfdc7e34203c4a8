"""When a source is fetched next (pure): its interval, jittered so that many sources with the
same interval do not all hit at once, and after failures an exponential backoff, capped, that
never comes sooner than a server's ``Retry-After``."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(hours=6)
JITTER = 0.1  # of the wait, either way


def next_fetch(
    now: datetime,
    interval: timedelta,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    jitter: float = 0.0,
) -> datetime:
    """``failures`` in a row so far (0: the last fetch worked); ``jitter`` in [-1, 1].

    The jitter spreads the wait either way, but a backoff never goes past its cap and nothing
    comes sooner than ``retry_after`` (itself capped: a server cannot silence a source)."""
    wait = interval
    if failures > 0:
        wait = min(interval * 2 ** min(failures, 20), MAX_BACKOFF)
        wait = max(wait, interval)  # an interval longer than the cap stays the interval
    wait += wait * JITTER * max(-1.0, min(1.0, jitter))
    if failures > 0:
        wait = min(wait, max(MAX_BACKOFF, interval))
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=retry_after), MAX_BACKOFF))
    return now + wait
