"""Which addresses a fetch may reach: every special-purpose range refused, in every disguise."""

from __future__ import annotations

import pytest

from bot.net.addresses import Network, parse_networks, refusal, refusal_kind

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below the shared range
    "100.128.0.0",  # just above it
    "172.32.0.1",  # just above 172.16/12
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 for 8.8.8.8
    "2002:808:808::1",  # 6to4 for 8.8.8.8
    " 8.8.4.4 ",
]

REFUSED = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.5", "10.0.0.5 is a private address"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "169.254.169.254 is a link-local address (cloud metadata lives there)"),
    ("100.64.0.1", "shared"),
    ("100.127.255.255", "shared"),
    ("0.0.0.0", "the unspecified address"),
    ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.9", "reserved"),  # the whole IETF /24, though a few in it are global
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.88.99.1", "6to4 relays"),
    ("::1", "::1 is a loopback address"),
    ("::", "the unspecified address"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "fe80::1%eth0 is a link-local address"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "discard-only"),
    ("2001:2::1", "benchmarking"),
    ("2001:10::1", "IETF protocol"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("5f00::1", "outside global unicast"),
    ("::7f00:1", "outside global unicast"),  # the deprecated IPv4-compatible form
    ("::ffff:127.0.0.1", "an IPv4-mapped address for 127.0.0.1, a loopback address"),
    ("::ffff:7f00:1", "IPv4-mapped address for 127.0.0.1"),
    ("::ffff:169.254.169.254", "for 169.254.169.254, a link-local address"),
    ("::ffff:10.1.2.3", "for 10.1.2.3, a private address"),
    ("64:ff9b::7f00:1", "a NAT64 address for 127.0.0.1, a loopback address"),
    ("64:ff9b::a9fe:a9fe", "NAT64 address for 169.254.169.254"),
    ("64:ff9b::192.168.0.1", "NAT64 address for 192.168.0.1, a private address"),
    ("2002:7f00:1::1", "a 6to4 address for 127.0.0.1, a loopback address"),
    ("2002:a00:5::", "6to4 address for 10.0.0.5, a private address"),
    ("2002:a9fe:a9fe::1", "6to4 address for 169.254.169.254"),
    # Teredo: server 65.54.227.120, client 192.0.2.45 (documentation)
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo address for 192.0.2.45"),
    # Teredo: server 65.54.227.120, client 127.0.0.1 (its bits inverted: 80ff:fffe)
    ("2001:0:4136:e378:8000:0:80ff:fffe", "a Teredo address for 127.0.0.1, a loopback"),
    ("not-an-address", "not an IP address"),
    ("127.0.0.1/8", "not an IP address"),
    ("", "not an IP address"),
]


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(address) is None


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_special_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    text = refusal(address)
    assert text is not None
    assert reason in text
    assert "\n" not in text


def test_a_refusal_names_the_address_and_its_kind() -> None:
    assert refusal("10.0.0.5") == "10.0.0.5 is a private address"
    assert refusal_kind("10.0.0.5") == "a private address"
    assert refusal_kind("8.8.8.8") is None


LOOPBACK = parse_networks(["127.0.0.0/8"])


@pytest.mark.parametrize(
    ("address", "allow", "allowed"),
    [
        ("127.0.0.1", LOOPBACK, True),
        ("127.9.9.9", LOOPBACK, True),
        ("::ffff:127.0.0.1", LOOPBACK, True),  # the same address, written for IPv6
        ("64:ff9b::7f00:1", LOOPBACK, True),
        ("10.0.0.5", LOOPBACK, False),
        ("::1", LOOPBACK, False),  # a v4 network never covers a v6 address of its own
        ("::1", parse_networks(["::1/128"]), True),
        ("fe80::1%eth0", parse_networks(["fe80::/10"]), True),
        ("10.0.0.5", parse_networks(["10.0.0.0/24", "::1"]), True),
        ("10.0.1.5", parse_networks(["10.0.0.0/24", "::1"]), False),
        ("169.254.169.254", parse_networks(["169.254.169.254/32"]), True),
        ("8.8.8.8", LOOPBACK, True),
    ],
)
def test_the_allow_list_exempts_exactly_its_networks(
    address: str, allow: tuple[Network, ...], allowed: bool
) -> None:
    assert (refusal(address, allow) is None) is allowed


def test_parse_networks_reads_cidrs_and_addresses() -> None:
    networks = parse_networks(["127.0.0.0/8", " ::1/128 ", "10.1.2.3", "192.168.1.7/24"])
    assert [str(n) for n in networks] == ["127.0.0.0/8", "::1/128", "10.1.2.3/32", "192.168.1.0/24"]
    assert parse_networks([]) == ()


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "not a network", "", "127.0.0.1/8/8", "::1/129"])
def test_parse_networks_names_the_bad_cidr_in_one_line(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a network") as info:
        parse_networks(["127.0.0.0/8", bad])
    message = str(info.value)
    assert repr(bad) in message
    assert "\n" not in message
