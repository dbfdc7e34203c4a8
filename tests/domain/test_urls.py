"""Canonical URLs: the identity of an article."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.urls import InvalidURLError, canonical_url, is_http_url, normalise_url


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("https://Example.COM/Path?b=2&a=1", "https://example.com/Path?b=2&a=1"),
        ("HTTP://example.com:80/x", "http://example.com/x"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/x#section", "https://example.com/x"),
        ("https://example.com/x?utm_source=a&id=1&UTM_Medium=b", "https://example.com/x?id=1"),
        ("https://example.com/x?utm_source=a", "https://example.com/x"),
        ("https://example.com", "https://example.com/"),
        ("  https://example.com/padded  ", "https://example.com/padded"),
        ("https://[2001:DB8::1]/x", "https://[2001:db8::1]/x"),
        ("https://example.com/a%20b?q=%C3%A9", "https://example.com/a%20b?q=%C3%A9"),
    ],
)
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "example.com/x",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "https:///nohost",
        "https://exa mple.com/",
        "https://example.com/\nx",
        "https://example.com:99999/",
        "https://" + "a" * 3000 + ".com/",
    ],
)
def test_invalid_urls_are_refused(raw: str) -> None:
    with pytest.raises(InvalidURLError):
        canonical_url(raw)
    assert not is_http_url(raw)


@given(st.text(max_size=200))
def test_canonical_url_is_idempotent_or_refuses(text: str) -> None:
    try:
        once = canonical_url(text)
    except InvalidURLError:
        return
    assert canonical_url(once) == once


_url_parts = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}{path}{query}{frag}",
    st.sampled_from(["http", "https", "HTTPS", "ftp"]),
    st.sampled_from(["example.com", "Example.COM", "a-b.example.org", "x", "[::1]", "u@h.com", ""]),
    st.sampled_from(["", ":80", ":443", ":8080", ":x"]),
    st.sampled_from(["", "/", "/a/b", "/a b", "/%41", "/a@b", "/é"]),
    st.sampled_from(["", "?a=1", "?utm_source=x&a=1", "?a=1&UTM_x=2", "?", "?a&&b", "?a=1&"]),
    st.sampled_from(["", "#f", "#"]),
)


@given(_url_parts)
def test_fast_path_agrees_with_the_full_normalisation(url: str) -> None:
    """canonical_url returns already-canonical URLs as they are; that must equal the slow path."""
    try:
        fast = canonical_url(url)
    except InvalidURLError:
        fast = None
    try:
        slow = normalise_url(url)
    except InvalidURLError:
        slow = None
    assert fast == slow
