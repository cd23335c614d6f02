"""The platform adapters this publisher can deliver through, keyed by the routing key."""

from __future__ import annotations

import httpx

from crier.contracts.common import PER_INSTANCE, PLATFORMS
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.sandbox import SandboxAdapter
from crier.publisher.adapters.sandbox_ledger import PostgresSandboxLedger
from crier.publisher.domain.routing import SANDBOX


def adapters(
    http: httpx.AsyncClient, settings: PlatformSettings, *, guarded: httpx.AsyncClient
) -> dict[str, PlatformAdapter]:
    """The sandbox for test mode, and every platform Crier can publish to live. A live command for
    a platform without an adapter fails honestly with `platform_not_supported`.

    Calls to a host a customer named (a Mastodon instance, a Bluesky PDS) go out on `guarded`, the
    SSRF guard's client; against a stand-in (`base_url_override`) every call goes to the stand-in.
    """
    found: dict[str, PlatformAdapter] = {SANDBOX: SandboxAdapter(PostgresSandboxLedger())}
    for platform in PLATFORMS:
        client = guarded if platform in PER_INSTANCE and not settings.base_url_override else http
        adapter = publishing.adapter(platform, client, settings)
        if adapter is not None:
            found[platform] = adapter
    return found
