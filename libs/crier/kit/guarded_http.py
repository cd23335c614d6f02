"""HTTP to hosts that customers name (a Mastodon instance, a Bluesky PDS), through the SSRF guard.

`GuardedTransport` resolves the host once, vets every address it has (`crier.kit.ssrf`), and
connects to a vetted address, never to a fresh DNS answer: a record that flips to an internal
address after the check cannot steer the call inside. The name travels in the Host header and, for
https, as the TLS server name the certificate is checked against. Plain http is allowed only to
networks the operator exempted (`CRIER_INSTANCE_ALLOWED_NETWORKS`): a token sent in clear over the
internet is a token given away.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

import httpx

from crier.kit import ssrf
from crier.kit.http_pools import DEFAULT_CONNECTIONS, SpreadTransport, keeping_no_cookies, tls_context
from crier.kit.ssrf import IPAddress, IPNetwork

# Connection pools kept at once, one per host; the least recently used goes first.
MAX_HOSTS = 256


class Blocked(httpx.ConnectError):
    """The guard refused the host: nothing was sent, and retrying will not change that."""


def in_networks(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


async def vetted_addresses(scheme: str, host: str, port: int, exempt: Sequence[IPNetwork]) -> list[IPAddress]:
    """Every address of `host`, once each passed the guard. Raises ssrf.Refused / Unresolvable."""
    addresses = await ssrf.resolve(host, port)
    ssrf.vet(addresses, exempt)
    if scheme != "https" and not all(in_networks(a, exempt) for a in addresses):
        raise ssrf.Refused("https_required", "plain http is allowed only to CRIER_INSTANCE_ALLOWED_NETWORKS")
    return addresses


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, exempt: Sequence[IPNetwork] = (), *, verify: bool = True, connections: int = DEFAULT_CONNECTIONS
    ) -> None:
        self._exempt = tuple(exempt)
        self._tls = tls_context(verify)
        self._connections = connections
        # Per host name: an https connection belongs to the name it was opened for (SNI, the
        # certificate), while one shared pool would key it by the address it connected to.
        self._pools: OrderedDict[str, SpreadTransport] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.raw_host.decode("ascii")  # an international name in its IDNA spelling
        try:
            addresses = await vetted_addresses(url.scheme, host, url.port or default_port(url.scheme), self._exempt)
        except ssrf.Refused as refused:
            raise Blocked(f"{host}: refused by the SSRF guard ({refused})", request=request) from None
        except ssrf.Unresolvable as exc:
            raise httpx.ConnectError(f"{host} does not resolve ({exc})", request=request) from None
        pool = self._pool(host)
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = host
        failure: httpx.ConnectError | None = None
        for address in addresses:  # the next vetted address when one cannot be reached (no IPv6 route)
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,  # the Host header still names the host
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await pool.handle_async_request(pinned)
            except httpx.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def _pool(self, host: str) -> SpreadTransport:
        pool = self._pools.get(host)
        if pool is None:
            pool = self._pools[host] = SpreadTransport(self._connections, verify=self._tls)
            if len(self._pools) > MAX_HOSTS:
                _, oldest = self._pools.popitem(last=False)
                closing = asyncio.ensure_future(_close_later(oldest))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
        self._pools.move_to_end(host)
        return pool

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()


def guarded_client(
    exempt: Sequence[IPNetwork] = (),
    *,
    timeout_s: float,
    headers: dict[str, str] | None = None,
    verify: bool = True,
    connections: int = DEFAULT_CONNECTIONS,
) -> httpx.AsyncClient:
    """A client whose every call goes through the guard; it follows no redirect (an answer to
    classify, never a place to send a token) and keeps no cookie. `connections`: at most this many
    to each host."""
    client = httpx.AsyncClient(
        transport=GuardedTransport(exempt, verify=verify, connections=connections),
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
        headers=headers,
    )
    return keeping_no_cookies(client)


async def _close_later(pool: SpreadTransport, after_s: float = 120.0) -> None:
    # Calls already on it end within the platform timeout; close it after that.
    await asyncio.sleep(after_s)
    await pool.aclose()
