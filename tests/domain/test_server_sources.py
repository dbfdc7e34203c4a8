"""What a feed typed in Discord may be: hostile URLs, intervals, qualities and topics."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.server_sources import (
    InvalidServerSource,
    check_interval,
    check_quality,
    check_topics,
    feed_url,
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Give the feed's URL"),
        ("   ", "Give the feed's URL"),
        ("ftp://example.com/feed", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("gopher://example.com/", "Only http:// and https://"),
        ("example.com/feed.xml", "Only http:// and https://"),
        ("https:///feed.xml", "no host"),
        ("https://user:pw@example.com/feed", "user name or password"),
        ("https://token@example.com/feed", "user name or password"),
        ("https://exa mple.com/feed", "no spaces"),
        ("https://example.com/\x00feed", "no spaces"),
        ("https://example.com:99999/feed", "not a URL"),
        ("https://example.com/" + "a" * 2000, "too long"),
    ],
)
def test_hostile_urls_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(InvalidServerSource) as raised:
        feed_url(text)
    assert says in raised.value.message


def test_a_url_is_kept_as_typed_but_without_its_fragment() -> None:
    assert feed_url("  HTTPS://Example.COM/Feed.xml?a=1#top ") == "https://example.com/Feed.xml?a=1"
    # never expanded: the URL is taken literally (only the config file's are expanded)
    assert feed_url("https://example.com/feed?t=${DISCORD_TOKEN}") == (
        "https://example.com/feed?t=$%7BDISCORD_TOKEN%7D"
    )


@pytest.mark.parametrize(
    ("value", "ok"),
    [("5m", True), ("1d", True), ("2h30m", True), ("4m", False), ("25h", False)],
)
def test_intervals_are_five_minutes_to_a_day(value: str, ok: bool) -> None:
    if ok:
        assert timedelta(minutes=5) <= check_interval(value) <= timedelta(days=1)
    else:
        with pytest.raises(InvalidServerSource, match="5m to 1d"):
            check_interval(value)


def test_an_unreadable_interval_says_what_it_expects() -> None:
    with pytest.raises(InvalidServerSource, match="expected a duration"):
        check_interval("soon")
    with pytest.raises(InvalidServerSource, match="at least 1s"):
        check_interval("0s")


def test_quality_and_topics() -> None:
    assert check_quality(0) == 0 and check_quality(100) == 100
    for bad in (-1, 100.5):
        with pytest.raises(InvalidServerSource, match="0 to 100"):
            check_quality(bad)
    assert check_topics((" AI ", "AI", "", "Machine   learning")) == ("AI", "Machine learning")
    with pytest.raises(InvalidServerSource, match="At most 10"):
        check_topics(tuple(f"t{n}" for n in range(11)))
    with pytest.raises(InvalidServerSource, match="100 characters"):
        check_topics(("x" * 101,))
