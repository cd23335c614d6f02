"""Each platform's account metrics, read from its documented endpoint as the account.

`read(platform, reach, account)` asks the platform and answers `Figures`: followers, following,
posts_count, impressions, reach and profile_views where the platform offers them (None where it
does not: each module's docstring says which), and `raw`, the platform's payload unmodified — the
one answer as it came, or, for platforms read with more than one call, each answer under the name
of its call. Failures are the publishing adapters' `PlatformError`s (`RateLimited` with the
platform's Retry-After, `TransientError`, `TokenRejected`, …), classified the same way, since the
calls go through the same `_publish_http.send`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from crier.contracts.common import Platform
from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.base import PlatformSettings

FIGURES = ("followers", "following", "posts_count", "impressions", "reach", "profile_views")


@dataclass(frozen=True)
class Figures:
    followers: int | None = None
    following: int | None = None
    posts_count: int | None = None
    impressions: int | None = None
    reach: int | None = None
    profile_views: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reach:
    """How the readers reach the platforms: the client (SSRF-guarded for customer-named hosts,
    chosen by the caller), where each platform is and the API versions, and the DPoP nonces atproto
    OAuth servers hand out, kept between calls."""

    http: httpx.AsyncClient
    settings: PlatformSettings
    nonces: dict[str, str] = field(default_factory=dict)

    async def get(self, platform: Platform, url: str, *, classify: ph.Classify | None = None, **kwargs: Any) -> Any:
        return await ph.send(
            self.http, platform, "GET", url, classify=classify, timeout=self.settings.timeout_s, **kwargs
        )


async def read(platform: Platform, reach: Reach, account: AccountToken) -> Figures:
    module = importlib.import_module(f"crier.platforms.account_metrics.{platform}")
    figures: Figures = await module.read(reach, account)
    return figures


def count(value: Any) -> int | None:
    """A count as platforms spell it: an integer, or a string of digits (Google's int64s)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def dig(body: Any, *path: str) -> Any:
    """`body[p0][p1]…`, or None where any step is missing."""
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


def mapping(body: Any) -> dict[str, Any]:
    return dict(body) if isinstance(body, Mapping) else {}
