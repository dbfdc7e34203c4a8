"""Which IP addresses a fetch may connect to: pure policy, no I/O.

A fetch reaches only globally routable unicast addresses. The tables below are IANA's
special-purpose address registries written out, not ``ipaddress``'s ``is_private`` and
``is_global`` alone: those answers changed between Python patch releases, and they call
64:ff9b::7f00:1 (NAT64 for 127.0.0.1) and 2002:7f00:1:: (6to4 for it) global. ``is_global``
is still asked last, so an address that either source calls special is refused.

The IPv6 forms that stand for IPv4 addresses (IPv4-mapped, NAT64, 6to4, Teredo) are judged
by the IPv4 addresses they carry, because that is where the packets end up.

``allow`` (``fetch.allow_networks``, e.g. 127.0.0.0/8 for a local feed in tests) exempts the
networks an operator chose; an address, or the IPv4 address it carries, inside one is allowed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_LINK_LOCAL = "a link-local address (cloud metadata lives there)"
_DOCUMENTATION = "a documentation address"
_PRIVATE = "a private address"

# First match wins: the narrower networks come first.
_IPV4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/32", "the unspecified address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", _PRIVATE),
        ("100.64.0.0/10", "a shared address (carrier-grade NAT)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", _LINK_LOCAL),
        ("172.16.0.0/12", _PRIVATE),
        ("192.0.0.0/24", "a reserved address (IETF protocol assignments)"),
        ("192.0.2.0/24", _DOCUMENTATION),
        ("192.88.99.0/24", "a reserved address (the former 6to4 relays)"),
        ("192.168.0.0/16", _PRIVATE),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", _DOCUMENTATION),
        ("203.0.113.0/24", _DOCUMENTATION),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("64:ff9b:1::/48", "a private address (local-use NAT64)"),
        ("100::/64", "a discard-only address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001:db8::/32", _DOCUMENTATION),
        ("2001::/23", "a reserved address (IETF protocol assignments)"),
        ("3fff::/20", _DOCUMENTATION),
        ("fc00::/7", "a private address (unique local)"),
        ("fe80::/10", _LINK_LOCAL),
        ("fec0::/10", "a private address (site-local)"),
        ("ff00::/8", "a multicast address"),
    )
)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")  # all the global IPv6 unicast there is
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (``127.0.0.0/8``, ``::1/128``; a bare address is one address) as networks.

    Host bits are forgiven (``127.0.0.1/8`` is 127.0.0.0/8); anything else that is not a
    network raises ValueError naming the value.
    """
    out: list[Network] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a network (write a CIDR such as 127.0.0.0/8 or ::1/128)"
            ) from None
    return tuple(out)


def refusal(address: str, allow: Sequence[Network] = ()) -> str | None:
    """None when ``address`` may be fetched; else why not, in one line
    ("127.0.0.1 is a loopback address")."""
    kind = refusal_kind(address, allow)
    return None if kind is None else f"{address.strip()} is {kind}"


def refusal_kind(address: str, allow: Sequence[Network] = ()) -> str | None:
    """What :func:`refusal` says ``address`` is ("a loopback address"), or None."""
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])  # without a zone (%eth0)
    except ValueError:
        return "not an IP address"
    if _inside(ip, allow):
        return None
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_kind(ip)
    carried = _carried(ip)
    if carried is None:
        return _ipv6_kind(ip)
    form, addresses = carried
    for v4 in addresses:
        kind = None if _inside(v4, allow) else _ipv4_kind(v4)
        if kind is not None:
            return f"{form} for {v4}, {kind}"
    return None


def _inside(ip: Address, allow: Sequence[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in allow)


def _ipv4_kind(ip: ipaddress.IPv4Address) -> str | None:
    for net, kind in _IPV4:
        if ip in net:
            return kind
    return None if ip.is_global else "not a globally routable address"


def _ipv6_kind(ip: ipaddress.IPv6Address) -> str | None:
    for net, kind in _IPV6:
        if ip in net:
            return kind
    if ip not in _GLOBAL_UNICAST:
        return "a reserved address (outside global unicast, 2000::/3)"
    return None if ip.is_global else "not a globally routable address"


def _carried(ip: ipaddress.IPv6Address) -> tuple[str, tuple[ipaddress.IPv4Address, ...]] | None:
    """The IPv4 addresses ``ip`` stands for, and the name of its form, if it is one of those."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped address", (ip.ipv4_mapped,)
    if ip in _NAT64:
        return "a NAT64 address", (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return "a 6to4 address", (ip.sixtofour,)
    if ip.teredo is not None:
        server, client = ip.teredo
        return "a Teredo address", (client, server)
    return None
