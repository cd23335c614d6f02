"""The SSRF guard (`crier.kit.ssrf`) for Mastodon instances and Bluesky PDSes, whose URLs
customers give: `vet` checks one when it is registered or named, and every call connect makes to
one goes through `GuardedTransport`, which resolves the name once, vets every address it has, and
connects to a vetted address, never to a fresh DNS answer (a record that flips to an internal
address after the check cannot steer the call inside). The name travels in the Host header and,
for https, as the TLS server name the certificate is checked against. Plain http is allowed only
to networks the operator exempted (`CRIER_CONNECT_ALLOWED_NETWORKS`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

import httpx

from crier.connect.domain.instances import Instance
from crier.kit import ssrf
from crier.kit.errors import Problem
from crier.kit.ssrf import IPAddress, IPNetwork

# Connection pools kept at once, one per instance host; the least recently used goes first.
MAX_HOSTS = 256


def _exempt(address: IPAddress, exempt: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in exempt)


async def _addresses(scheme: str, host: str, port: int, exempt: Sequence[IPNetwork]) -> list[IPAddress]:
    """Every address of `host`, once each passed the guard. Raises ssrf.Refused / Unresolvable."""
    addresses = await ssrf.resolve(host, port)
    ssrf.vet(addresses, exempt)
    if scheme != "https" and not all(_exempt(a, exempt) for a in addresses):
        # A token sent in clear over the internet is a token given away.
        raise ssrf.Refused("https_required", "plain http is allowed only to CRIER_CONNECT_ALLOWED_NETWORKS")
    return addresses


async def vet(instance: Instance, exempt: Sequence[IPNetwork]) -> None:
    """Refuse an instance Crier may not call, as a problem with the `instance_url` field."""
    try:
        await _addresses(instance.scheme, instance.host, instance.port, exempt)
    except ssrf.Refused as refused:
        code = "https_required" if refused.reason == "https_required" else "blocked_address"
        raise Problem("instance_url", code, f"instance_url may not be called: {refused}") from None
    except ssrf.Unresolvable:
        raise Problem("instance_url", "unresolvable", f"{instance.host} does not resolve") from None


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, exempt: Sequence[IPNetwork] = (), *, verify: bool = True) -> None:
        self._exempt = tuple(exempt)
        self._verify = verify
        # Per host name: an https connection belongs to the name it was opened for (SNI, the
        # certificate), while one shared pool would key it by the address it connected to.
        self._pools: OrderedDict[str, httpx.AsyncHTTPTransport] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.raw_host.decode("ascii")  # an international name in its IDNA spelling
        try:
            addresses = await _addresses(url.scheme, host, url.port or _default_port(url.scheme), self._exempt)
        except (ssrf.Refused, ssrf.Unresolvable) as exc:
            raise httpx.ConnectError(f"{host}: refused by the SSRF guard ({exc})", request=request) from None
        pool = self._pool(host)
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = host
        failure: httpx.ConnectError | None = None
        for address in addresses:  # the next vetted address when one cannot be reached (no IPv6 route)
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,  # the Host header still names the instance
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await pool.handle_async_request(pinned)
            except httpx.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def _pool(self, host: str) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(host)
        if pool is None:
            pool = self._pools[host] = httpx.AsyncHTTPTransport(verify=self._verify, trust_env=False)
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


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def _close_later(pool: httpx.AsyncHTTPTransport, after_s: float = 120.0) -> None:
    # Calls already on it end within the platform timeout; close it after that.
    await asyncio.sleep(after_s)
    await pool.aclose()


class InstanceGuard:
    """The exempt networks, and the one HTTP client for calls to instances."""

    def __init__(
        self,
        exempt: Sequence[IPNetwork] = (),
        *,
        timeout_s: float = 15.0,
        headers: dict[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        self.exempt = tuple(exempt)
        self.http = httpx.AsyncClient(
            transport=GuardedTransport(self.exempt, verify=verify),
            timeout=timeout_s,
            follow_redirects=False,
            trust_env=False,
            headers=headers,
        )

    async def vet(self, instance: Instance) -> None:
        await vet(instance, self.exempt)

    async def aclose(self) -> None:
        await self.http.aclose()
