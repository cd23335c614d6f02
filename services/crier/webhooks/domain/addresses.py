"""Which addresses a webhook may be delivered to: the SSRF guard's rule, without any I/O.

A customer-supplied URL must not let a request reach Crier's own network: loopback, private
ranges, link-local (which holds cloud metadata at 169.254.169.254), carrier-grade NAT, multicast,
reserved and unspecified addresses are refused, and so is an IPv6 address that merely wraps one of
them (IPv4-mapped, 6to4, Teredo, NAT64). An operator can exempt networks explicitly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def parse_networks(specs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from settings; a bare address means just that address. Raises ValueError."""
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in specs if s.strip())


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` may not receive webhooks, or None when it is an ordinary public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(ip):
            reason = refusal(inner)
            if reason:
                return reason
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("cgnat", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("reserved", ip.is_reserved),
        ("not_global", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def is_allowed(ip: IPAddress, exempt: Sequence[IPNetwork] = ()) -> bool:
    if any(ip.version == net.version and ip in net for net in exempt):
        return True
    return refusal(ip) is None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    inner = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in _NAT64:
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [a for a in inner if a is not None]
