"""Which IP addresses a fetch may connect to (pure).

Only globally routable unicast addresses: no loopback, private, link-local (cloud metadata
lives at 169.254.169.254), multicast, reserved, unspecified or shared addresses, in IPv4 or
IPv6, including the IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo),
which are judged by the address they carry. ``fetch.allow_networks`` lets config-file sources
reach chosen networks (a local feed in tests) anyway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    out: list[Network] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a network (write a CIDR such as 127.0.0.0/8 or ::1/128)"
            ) from None
    return tuple(out)


def _kind(address: Address) -> str | None:
    """What makes ``address`` unreachable for a fetch, or None."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "the unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def _carried(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of those forms."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal(address: str, allow: Sequence[Network] = ()) -> str | None:
    """None when ``address`` may be fetched; else why not, in one line."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if any(ip.version == net.version and ip in net for net in allow):
        return None
    carried = _carried(ip)
    if carried is not None:
        if any(carried in net for net in allow if net.version == 4):
            return None
        reason = _kind(carried)
        return f"{ip} carries {carried}, {reason}" if reason else None
    reason = _kind(ip)
    return f"{ip} is {reason}" if reason else None
