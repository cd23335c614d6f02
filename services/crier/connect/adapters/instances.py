"""The SSRF guard for Mastodon instances and Bluesky PDSes, whose URLs customers give: `vet`
checks one when it is registered or named, and every call connect makes to one goes through
`crier.kit.guarded_http` (resolved once, every address vetted, connected to a vetted address).
"""

from __future__ import annotations

from collections.abc import Sequence

from crier.connect.domain.instances import Instance
from crier.kit import ssrf
from crier.kit.errors import Problem
from crier.kit.guarded_http import guarded_client, vetted_addresses
from crier.kit.ssrf import IPNetwork


async def vet(instance: Instance, exempt: Sequence[IPNetwork]) -> None:
    """Refuse an instance Crier may not call, as a problem with the `instance_url` field."""
    try:
        await vetted_addresses(instance.scheme, instance.host, instance.port, exempt)
    except ssrf.Refused as refused:
        code = "https_required" if refused.reason == "https_required" else "blocked_address"
        raise Problem("instance_url", code, f"instance_url may not be called: {refused}") from None
    except ssrf.Unresolvable:
        raise Problem("instance_url", "unresolvable", f"{instance.host} does not resolve") from None


class InstanceGuard:
    """The exempt networks, and the one HTTP client for calls to instances."""

    def __init__(
        self,
        exempt: Sequence[IPNetwork] = (),
        *,
        timeout_s: float = 15.0,
        headers: dict[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        self.exempt = tuple(exempt)
        self.http = guarded_client(self.exempt, timeout_s=timeout_s, headers=headers, verify=verify)

    async def vet(self, instance: Instance) -> None:
        await vet(instance, self.exempt)

    async def aclose(self) -> None:
        await self.http.aclose()
