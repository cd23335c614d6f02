"""Platform adapters: one module per social network, speaking its real API (and `sandbox`, which
simulates one). Used by the publisher to deliver posts and by connect for OAuth.

`platforms.provider(name, base_url_override)` gives a platform's OAuth provider (see
`platforms.providers`); `platforms.simulator` plays every platform's API for tests and demos.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crier.platforms.base import PlatformSettings
    from crier.platforms.oauth import OAuthProvider


def provider(
    platform: str,
    base_url_override: str | None = None,
    *,
    instance_url: str | None = None,
    settings: PlatformSettings | None = None,
) -> OAuthProvider:
    # Imported here: the platform modules import this package first.
    from crier.platforms.providers import provider as _provider

    return _provider(platform, base_url_override, instance_url=instance_url, settings=settings)
