"""Which OAuth provider speaks for a platform: the platform's own module in live mode (pointed at
`CRIER_PLATFORM_BASE_URL` when set), the simulated one behind Crier's consent page in test mode."""

from __future__ import annotations

from typing import Any

from crier import platforms
from crier.connect.adapters.sandbox_oauth import SandboxOAuth
from crier.platforms.oauth import OAuthProvider


class NoProvider(LookupError):
    pass


class Providers:
    def __init__(self, *, public_url: str, platform_base_url: str = "") -> None:
        self._consent_url = f"{public_url.rstrip('/')}/connect/sandbox/authorize"
        self._base_url = platform_base_url or None
        self._live: dict[str, Any] = {}

    def for_mode(
        self, platform: str, mode: str, *, subject: str | None = None, instance_url: str | None = None
    ) -> OAuthProvider:
        """`subject`: who the simulated platform signs in (test mode); `instance_url`: the Mastodon
        instance or Bluesky PDS the provider talks to (ignored against the simulator)."""
        if mode == "test":
            return SandboxOAuth(platform, self._consent_url, subject)
        key = (platform, instance_url)
        if key not in self._live:
            try:
                self._live[key] = platforms.provider(platform, self._base_url, instance_url=instance_url)
            except (KeyError, LookupError, ValueError) as exc:
                raise NoProvider(f"no OAuth provider for {platform}: {exc}") from None
        return self._live[key]
