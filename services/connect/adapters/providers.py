"""Which OAuth provider speaks for a platform: the platform's own module in live mode (pointed at
`CRIER_PLATFORM_BASE_URL` when set), the simulated one behind Crier's consent page in test mode."""

from __future__ import annotations

from typing import Any

from connect.adapters.sandbox_oauth import SandboxOAuth
from platforms.oauth import OAuthProvider


class NoProvider(LookupError):
    pass


class Providers:
    def __init__(self, *, public_url: str, platform_base_url: str = "") -> None:
        self._consent_url = f"{public_url.rstrip('/')}/connect/sandbox/authorize"
        self._base_url = platform_base_url or None
        self._live: dict[str, Any] = {}

    def for_mode(self, platform: str, mode: str, *, subject: str | None = None) -> OAuthProvider:
        if mode == "test":
            return SandboxOAuth(platform, self._consent_url, subject)
        if platform not in self._live:
            self._live[platform] = _registry_provider(platform, self._base_url)
        return self._live[platform]


def _registry_provider(platform: str, base_url: str | None) -> Any:
    try:
        from platforms.registry import provider  # type: ignore[import-not-found]
    except ImportError:
        raise NoProvider(f"no OAuth provider module for {platform}") from None
    try:
        return provider(platform, base_url)
    except (KeyError, LookupError, ValueError) as exc:
        raise NoProvider(str(exc)) from None
