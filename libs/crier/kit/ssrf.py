"""The SSRF guard: which addresses a URL that a customer gave (a webhook endpoint, a Mastodon
instance, a Bluesky PDS) may make Crier connect to.

A customer-supplied URL must not let a request reach Crier's own network: loopback, private
ranges, link-local (which holds cloud metadata at 169.254.169.254), carrier-grade NAT, multicast,
reserved and unspecified addresses are refused, and so is an IPv6 address that merely wraps one of
them (IPv4-mapped, 6to4, Teredo, NAT64). An operator can exempt networks explicitly.

Callers resolve the host once, vet every address it has, and then connect to the vetted address,
never to a fresh DNS answer: a record that flips to 10.0.0.1 after the check (DNS rebinding)
cannot steer the request inside.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def parse_networks(specs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from settings; a bare address means just that address. Raises ValueError."""
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in specs if s.strip())


def refusal(ip: IPAddress) -> str | None:
    """Why Crier may not connect to `ip`, or None when it is an ordinary public address."""
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


class Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Unresolvable(Exception):
    pass


def getaddrinfo(host: str, port: int) -> list[str]:
    """The system resolver. Module-level so tests can swap it for a scripted one."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(host)
        return [literal]
    except ValueError:
        pass
    try:
        answers = await asyncio.to_thread(getaddrinfo, host, port)
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(f"{host}: {exc}") from None
    # Scoped IPv6 answers come back as "fe80::1%eth0".
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
    if not addresses:
        raise Unresolvable(host)
    return list(dict.fromkeys(addresses))


def vet(addresses: Sequence[IPAddress], exempt: Sequence[IPNetwork]) -> IPAddress:
    """The address to connect to, if every address the name has is acceptable."""
    for address in addresses:
        if not is_allowed(address, exempt):
            raise Refused("blocked_address", f"{address} is not a public address ({refusal(address)})")
    return addresses[0]


async def vetted(host: str, port: int, exempt: Sequence[IPNetwork] = ()) -> IPAddress:
    """Resolve `host` and vet every address it has; the one to connect to."""
    return vet(await resolve(host, port), exempt)
