"""What the three Graph publishing adapters (Facebook Pages, Instagram, Threads) share: the HTTP
client and settings they are built with, and one authenticated Graph call. Each adapter says only
where its Graph lives, which API version it speaks and how it reads its own error codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from crier.contracts.common import Platform
from crier.platforms import _publish_http as ph
from crier.platforms.base import PlatformError, PlatformSettings

Classify = Callable[[httpx.Response, Any], PlatformError | None]


class GraphAdapter:
    name: ClassVar[Platform]
    transactional = False
    needs_account = True
    # The real Graph host, used unless CRIER_PLATFORM_BASE_URL points the platform elsewhere.
    graph_host: ClassVar[str]

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings

    def version(self) -> str:
        """The Graph API version in every path (`v21.0`), a setting."""
        return self.settings.graph_api_version

    @staticmethod
    def classify(resp: httpx.Response, body: Any) -> PlatformError | None:
        raise NotImplementedError

    async def _call(self, method: str, path: str, token: str, *, host: str | None = None, **kwargs: Any) -> Any:
        url = f"{self.settings.base(self.name, host or self.graph_host)}/{self.version()}{path}"
        return await ph.send(
            self.http,
            self.name,
            method,
            url,
            classify=self.classify,
            timeout=self.settings.timeout_s,
            headers=ph.bearer(token),
            **kwargs,
        )
