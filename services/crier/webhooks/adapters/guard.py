"""The SSRF guard (crier.kit.ssrf) for webhook endpoints: the scheme rule, and the address every
delivery connects to.

It runs when an endpoint is created or its URL changes, and again before every delivery; the
delivery then connects to the address vetted here, never to a fresh DNS answer.
"""

from __future__ import annotations

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
