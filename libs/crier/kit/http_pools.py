"""Outgoing HTTP for a process with hundreds of calls in flight: many small connection pools, and
clients that keep no cookies.

httpcore's pool looks at every connection it holds, and at every request waiting for one, each time
a call starts or ends, and asks the socket of each idle connection whether the server closed it:
the work per call grows with the pool. A publisher with 600 slots spent most of its CPU there (one
pool of 100 connections, 500 calls queued on it; 600 connections in one pool were slower still).
httpx offers no other pool, so the calls are spread here over pools of at most `POOL_CONNECTIONS`
connections, each call going to the pool with the fewest calls in it. The pools reach the network
through asyncio's streams rather than anyio (`http_backend`).
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Callable

import httpcore
import httpx
from httpx._utils import get_environment_proxies  # httpx is pinned: see `spread_client`

from crier.kit import http_backend

# Connections per pool: small enough that a pool's own bookkeeping stays cheap.
POOL_CONNECTIONS = 16
# Connections a client may hold (to all hosts together) when its owner does not say: httpx's own.
DEFAULT_CONNECTIONS = 100


class SpreadTransport(httpx.AsyncBaseTransport):
    """Up to `connections` connections in all (calls beyond wait for one), in pools of at most
    POOL_CONNECTIONS; a connection left idle stays open for reuse until the keep-alive expiry.
    `verify`: as httpx takes it; a context given is shared (building one reads the CA bundle)."""

    def __init__(self, connections: int = DEFAULT_CONNECTIONS, *, verify: bool | ssl.SSLContext = True) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        count = math.ceil(connections / POOL_CONNECTIONS)
        size = math.ceil(connections / count)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        context = tls_context(verify)
        self._pools = [_on_asyncio(httpx.AsyncHTTPTransport(verify=context, limits=limits)) for _ in range(count)]
        # Calls in each pool: from the request until its response is closed (it holds its
        # connection until then).
        self._calls = [0] * count

    @property
    def calls(self) -> list[int]:
        return list(self._calls)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._calls)), key=self._calls.__getitem__)
        self._calls[index] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._calls[index] -= 1

        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Released(response.stream, release)
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def _on_asyncio(transport: httpx.AsyncHTTPTransport) -> httpx.AsyncHTTPTransport:
    """`transport`, its pool connecting through `http_backend`. httpx takes no network backend, so
    it goes in the attribute httpcore keeps it in (both are pinned; a test holds it)."""
    pool = transport._pool
    assert isinstance(pool._network_backend, httpcore.AsyncNetworkBackend)
    pool._network_backend = http_backend.BACKEND
    return transport


def tls_context(verify: bool | ssl.SSLContext, *, trust_env: bool = False) -> ssl.SSLContext:
    """The TLS context httpx would build for `verify`: certifi's CA bundle, or SSL_CERT_FILE /
    SSL_CERT_DIR with `trust_env`."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    return httpx.create_ssl_context(verify=verify, trust_env=trust_env)


def spread_client(connections: int, *, timeout_s: float, headers: dict[str, str]) -> httpx.AsyncClient:
    """A client as httpx builds one from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and
    NO_PROXY; SSL_CERT_FILE, SSL_CERT_DIR), whose direct calls go through a `SpreadTransport` of
    `connections`; it follows no redirect and keeps no cookie. httpx reads the proxies from the
    environment only for a client without a transport of its own, so they are mounted here as it
    would mount them (with its own reader of the environment, private to httpx, whose version is
    pinned)."""
    context = tls_context(True, trust_env=True)
    proxies: dict[str, httpx.AsyncBaseTransport | None] = {
        # None: no proxy for these hosts (NO_PROXY), the client's own transport.
        pattern: None if url is None else httpx.AsyncHTTPTransport(verify=context, proxy=url)
        for pattern, url in get_environment_proxies().items()
    }
    client = httpx.AsyncClient(
        transport=SpreadTransport(connections, verify=context),
        mounts=proxies,
        timeout=timeout_s,
        follow_redirects=False,
        headers=headers,
    )
    return keeping_no_cookies(client)


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing an answer sets."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def keeping_no_cookies(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client`, made to keep no cookie from the answers it gets. One client carries every tenant's
    calls to a platform: a cookie set in the answer to one account's call would go out with the
    next account's, and server-to-server calls need none. httpx has no setting for it, and its
    `cookies` setter copies whatever it is given into a plain jar, so the jar goes in the client's
    private attribute (httpx is pinned; a test holds it). Sparing the jar's bookkeeping also saves
    about 6 % of a call's CPU."""
    client._cookies = _NoCookies()
    return client


class _Released(httpx.AsyncByteStream):
    """A response's body that tells when it is closed (httpx closes it once read, or on error)."""

    def __init__(self, stream: httpx.AsyncByteStream, on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._on_close()
