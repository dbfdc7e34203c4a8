"""Which addresses a fetch may reach."""

from __future__ import annotations

import pytest

from bot.net.addresses import parse_networks, refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "carries 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "carries 169.254.169.254"),
        ("2002:0a00:0001::", "carries 10.0.0.1"),
        ("not-an-ip", "not an IP address"),
    ],
)
def test_refused(address: str, reason: str) -> None:
    found = refusal(address)
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_may_be_fetched(address: str) -> None:
    assert refusal(address) is None


def test_allow_networks() -> None:
    allow = parse_networks(["127.0.0.0/8", "fd00::/8"])
    assert refusal("127.0.0.5", allow) is None
    assert refusal("::ffff:127.0.0.1", allow) is None
    assert refusal("fd12::1", allow) is None
    assert refusal("10.0.0.1", allow) is not None
    with pytest.raises(ValueError, match="not a network"):
        parse_networks(["300.1.2.3/8"])
