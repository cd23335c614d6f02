"""The SSRF guard (crier.kit.ssrf) for webhook endpoints: the scheme rule, and the address every
delivery connects to.

Before every delivery `check` resolves the host and vets every address it has; the delivery then
connects to the address vetted there, never to a fresh DNS answer. When an endpoint is created or
its URL changes, `admit` judges what needs no DNS: the scheme, a literal address, the names that
are special without DNS (`localhost`, `.invalid`, cloud metadata hosts). A name that does not
resolve yet is accepted, since the receiver's DNS may exist only inside the deployment, or later;
one that resolves already is vetted now, so a name pointing into a private network is refused at
once rather than at every delivery.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from crier.kit import ssrf
from crier.kit.ssrf import IPAddress, IPNetwork, Refused
from crier.webhooks.domain.endpoint import Url


@dataclass(frozen=True)
class Policy:
    allow_http: bool
    exempt: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class Destination:
    url: Url
    address: IPAddress


async def check(url: Url, policy: Policy) -> Destination:
    if url.scheme != "https" and not (url.scheme == "http" and policy.allow_http):
        raise Refused("scheme_not_allowed", "only https:// endpoints are allowed")
    return Destination(url, await ssrf.vetted(url.host, url.port, policy.exempt))


# Loopback by definition (RFC 6761 §6.3), and never resolvable (§6.4), whatever a resolver says.
_LOOPBACK_NAMES = ("localhost",)
_NEVER_RESOLVES = ("invalid",)
# Cloud instance metadata services by name; their addresses are link-local and refused anyway.
_METADATA_NAMES = ("metadata.google.internal", "metadata.goog", "metadata.azure.internal")
# Creating an endpoint does not wait longer than this on DNS: an answer too slow is no answer yet.
ADMIT_RESOLVE_TIMEOUT_S = 2.0


def _is_under(host: str, names: tuple[str, ...]) -> bool:
    return any(host == n or host.endswith(f".{n}") for n in names)


async def admit(url: Url, policy: Policy) -> None:
    """May an endpoint have this URL? Raises `Refused`; a host with no DNS answer yet passes."""
    if url.scheme != "https" and not (url.scheme == "http" and policy.allow_http):
        raise Refused("scheme_not_allowed", "only https:// endpoints are allowed")
    host = url.host.lower().rstrip(".")
    try:
        ssrf.vet([ipaddress.ip_address(host.split("%", 1)[0])], policy.exempt)
        return
    except ValueError:
        pass  # a name, not a literal address
    if _is_under(host, _LOOPBACK_NAMES):
        ssrf.vet([ipaddress.ip_address("127.0.0.1")], policy.exempt)
        return
    if _is_under(host, _NEVER_RESOLVES):
        raise Refused("reserved_name", f"{url.host} can never resolve")
    if _is_under(host, _METADATA_NAMES):
        raise Refused("blocked_address", f"{url.host} is a cloud metadata service")
    try:
        async with asyncio.timeout(ADMIT_RESOLVE_TIMEOUT_S):
            addresses = await ssrf.resolve(url.host, url.port)
    except (ssrf.Unresolvable, TimeoutError):
        return
    ssrf.vet(addresses, policy.exempt)
