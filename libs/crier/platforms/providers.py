"""The OAuth provider of each platform, by name.

    provider("x")                                   # the real X endpoints
    provider("x", "http://127.0.0.1:9999")          # every X URL rebased to http://127.0.0.1:9999/x/<real path>
    provider("mastodon", instance_url="https://mastodon.social")

With a base URL override (the platform simulator, `CRIER_PLATFORM_BASE_URL`) every host of the
platform is replaced by `<override>/<platform>` and the real paths are kept, so one simulator
serves all platforms on one port; per-instance platforms (Mastodon, Bluesky) then ignore instance
URLs and talk to the simulator's one instance.
"""

from __future__ import annotations

import importlib
from typing import Any

from crier.contracts.common import PER_INSTANCE, PLATFORMS
from crier.platforms.base import PlatformSettings
from crier.platforms.oauth import OAuthProvider


class UnknownPlatform(KeyError):
    pass


def provider(
    platform: str,
    base_url_override: str | None = None,
    *,
    instance_url: str | None = None,
    settings: PlatformSettings | None = None,
) -> OAuthProvider:
    if platform not in PLATFORMS:
        raise UnknownPlatform(platform)
    real: Any = importlib.import_module(f"crier.platforms.{platform}").provider
    found: OAuthProvider = real
    if base_url_override:
        endpoints = real.endpoints.rebased(f"{base_url_override.rstrip('/')}/{platform}")
        found = type(real)(endpoints, fixed=True) if platform in PER_INSTANCE else type(real)(endpoints)
    elif instance_url and platform in PER_INSTANCE:
        found = real.for_instance(instance_url)
    # The API versions the operator configured (CRIER_LINKEDIN_VERSION, CRIER_GRAPH_API_VERSION, …).
    return found.configured(settings) if settings is not None else found
