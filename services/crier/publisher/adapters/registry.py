"""The platform adapters this publisher can deliver through, keyed by the routing key."""

from __future__ import annotations

import httpx

from crier.contracts.common import PLATFORMS
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.sandbox import SandboxAdapter
from crier.publisher.adapters.sandbox_ledger import PostgresSandboxLedger
from crier.publisher.domain.routing import SANDBOX


def adapters(http: httpx.AsyncClient, settings: PlatformSettings) -> dict[str, PlatformAdapter]:
    """The sandbox for test mode, and every platform Crier can publish to live. A live command for
    a platform without an adapter fails honestly with `platform_not_supported`."""
    found: dict[str, PlatformAdapter] = {SANDBOX: SandboxAdapter(PostgresSandboxLedger())}
    for platform in PLATFORMS:
        adapter = publishing.adapter(platform, http, settings)
        if adapter is not None:
            found[platform] = adapter
    return found
