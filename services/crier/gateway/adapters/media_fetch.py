"""Fetching media a caller names by URL, through the SSRF guard (`crier.kit.guarded_http`).

Every request of a fetch, redirects included, resolves the host once, vets every address it has
(private, loopback, link-local and metadata addresses refused) and connects to a vetted address,
so neither a redirect nor a DNS answer that changes after the check can steer the fetch inside.
Plain http only to the networks the operator exempted (`CRIER_MEDIA_FETCH_ALLOWED_NETWORKS`). The
body streams to the caller's sink; the whole fetch has one deadline and a size limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from crier.kit.guarded_http import Blocked, guarded_client
from crier.kit.ssrf import IPNetwork
from crier.kit.version import VERSION

MAX_REDIRECTS = 5
USER_AGENT = f"Crier-Media/{VERSION}"


class FetchFailed(Exception):
    """Why the URL gave no media: `reason` is one of blocked_address, invalid_url, http_status,
    too_many_redirects, timeout, too_large, connection_error."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


class GuardedFetcher:
    def __init__(self, exempt: tuple[IPNetwork, ...], *, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._client = guarded_client(
            exempt, timeout_s=timeout_s, headers={"user-agent": USER_AGENT, "accept-encoding": "identity"}
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, sink: Callable[[bytes], None], *, max_bytes: int) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._follow(_parsed(url), sink, max_bytes)
        except TimeoutError:
            raise FetchFailed("timeout", f"the fetch took longer than {self._timeout_s:g} s") from None

    async def _follow(self, url: httpx.URL, sink: Callable[[bytes], None], max_bytes: int) -> None:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with self._client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = _parsed(str(url.join(response.headers["location"])))
                        continue
                    if response.status_code != 200:
                        raise FetchFailed("http_status", f"the URL answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchFailed("too_large", f"the file is larger than {max_bytes} bytes")
                    async for chunk in response.aiter_bytes():
                        sink(chunk)
                    return
            except Blocked:
                raise FetchFailed(
                    "blocked_address", f"{url.host} is not a public address (or is plain http to one)"
                ) from None
            except httpx.TimeoutException:
                raise FetchFailed("timeout", "the server did not answer in time") from None
            except httpx.HTTPError as exc:
                raise FetchFailed("connection_error", f"could not fetch the URL: {type(exc).__name__}") from None
        raise FetchFailed("too_many_redirects", f"more than {MAX_REDIRECTS} redirects")


def _parsed(raw: str) -> httpx.URL:
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        raise FetchFailed("invalid_url", "not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise FetchFailed("invalid_url", "only http(s) URLs can be fetched")
    return url
