"""The SSRF guard at the network's edge: resolve an endpoint's host and vet every address.

It runs when an endpoint is created or its URL changes, and again before every delivery; the
delivery then connects to the address vetted here, never to a fresh DNS answer, so a record that
flips to 10.0.0.1 after the check (DNS rebinding) cannot steer the request inside.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from crier.webhooks.domain.addresses import IPAddress, IPNetwork, is_allowed, refusal
from crier.webhooks.domain.endpoint import Url


class Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Unresolvable(Exception):
    pass


@dataclass(frozen=True)
class Policy:
    allow_http: bool
    exempt: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class Destination:
    url: Url
    address: IPAddress


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


async def check(url: Url, policy: Policy) -> Destination:
    if url.scheme != "https" and not (url.scheme == "http" and policy.allow_http):
        raise Refused("scheme_not_allowed", "only https:// endpoints are allowed")
    return Destination(url, vet(await resolve(url.host, url.port), policy.exempt))
