"""When a source is fetched next: interval, jitter, backoff cap, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.fetch_schedule import JITTER, MAX_BACKOFF, next_fetch

NOW = datetime(2026, 12, 6, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_the_interval_is_spread_either_way() -> None:
    assert next_fetch(NOW, HOUR) == NOW + HOUR
    assert next_fetch(NOW, HOUR, jitter=-1) == NOW + HOUR * (1 - JITTER)
    assert next_fetch(NOW, HOUR, jitter=1) == NOW + HOUR * (1 + JITTER)


def test_failures_back_off_exponentially_to_six_hours() -> None:
    minute = timedelta(minutes=1)
    assert [next_fetch(NOW, minute, failures=n) - NOW for n in (1, 2, 3)] == [
        2 * minute,
        4 * minute,
        8 * minute,
    ]
    assert next_fetch(NOW, minute, failures=20, jitter=1) == NOW + MAX_BACKOFF
    assert next_fetch(NOW, 10 * HOUR, failures=3, jitter=1) == NOW + 10 * HOUR  # no longer


def test_retry_after_is_never_cut_short_by_the_jitter() -> None:
    assert next_fetch(NOW, timedelta(minutes=5), retry_after=3600, jitter=-1) == NOW + HOUR
    assert next_fetch(NOW, HOUR, failures=1, retry_after=30 * 3600) == NOW + MAX_BACKOFF


@given(
    interval=st.integers(1, 2 * 86400),
    failures=st.integers(0, 40),
    retry_after=st.none() | st.floats(0, 10**7),
    jitter=st.floats(-1, 1),
)
def test_the_bounds_hold_for_any_input(
    interval: int, failures: int, retry_after: float | None, jitter: float
) -> None:
    every = timedelta(seconds=interval)
    wait = next_fetch(NOW, every, failures=failures, retry_after=retry_after, jitter=jitter) - NOW
    if retry_after is not None:
        assert wait >= min(timedelta(seconds=retry_after), MAX_BACKOFF)
    if failures:
        assert wait <= max(MAX_BACKOFF, every) and wait >= min(every, MAX_BACKOFF) * (1 - JITTER)
