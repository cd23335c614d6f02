"""Connect's OAuth calls carry the API versions the operator configured."""

from __future__ import annotations

import httpx

from crier.connect.adapters.providers import Providers
from crier.platforms.base import PlatformSettings


async def test_the_configured_versions_reach_connects_providers() -> None:
    versions = PlatformSettings(linkedin_version="209912", graph_api_version="v99.0", threads_api_version="v7.0")
    async with httpx.AsyncClient() as http:
        providers = Providers(http, public_url="https://crier.test", platforms=versions)
        linkedin = providers.for_mode("linkedin", "live")._provider
        facebook = providers.for_mode("facebook", "live")._provider
        threads = providers.for_mode("threads", "live")._provider
    assert getattr(linkedin, "version") == "209912"  # noqa: B009 - attributes of concrete providers
    assert getattr(facebook, "graph_version") == "v99.0"  # noqa: B009
    assert getattr(threads, "version") == "v7.0"  # noqa: B009
