"""One HTTP attempt: vet the address, sign, POST, read a capped response, classify the result.

The request goes to the address the guard vetted: the URL's host is replaced by that address and
the original name travels in the Host header (and, for https, as the TLS server name, which is
also what the certificate is checked against). Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import OrderedDict
from datetime import UTC, datetime
from importlib import metadata

import httpx

from webhooks.adapters import guard
from webhooks.domain import signing
from webhooks.domain.delivery import Outcome, error_for_status, parse_retry_after
from webhooks.domain.endpoint import Problem, parse_url

RESPONSE_CAP_BYTES = 64 * 1024
EXCERPT_BYTES = 1024
_MAX_TLS_CLIENTS = 256


def _version() -> str:
    try:
        return metadata.version("crier")
    except metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"Crier-Webhooks/{_version()}"


class Sender:
    def __init__(self, policy: guard.Policy, *, timeout_s: float, max_connections: int = 100,
                 verify: ssl.SSLContext | bool = True) -> None:
        self._policy = policy
        self._verify = verify
        self._timeout_s = timeout_s
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._plain = self._client()
        # An https connection is bound to the name it was opened for (SNI, certificate), but the
        # pool would key it by the IP we connect to; one client per name keeps them apart.
        self._tls: OrderedDict[str, httpx.AsyncClient] = OrderedDict()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(follow_redirects=False, timeout=self._timeout_s, limits=self._limits, trust_env=False,
                                 verify=self._verify)

    async def close(self) -> None:
        await self._plain.aclose()
        for client in self._tls.values():
            await client.aclose()

    async def send(self, url: str, message_id: str, body: bytes, secrets: list[str]) -> Outcome:
        try:
            destination = await guard.check(parse_url(url), self._policy)
        except Problem:
            return Outcome(None, "invalid_url")
        except guard.Refused as refused:
            return Outcome(None, refused.reason, response_excerpt=str(refused)[:EXCERPT_BYTES])
        except guard.Unresolvable as exc:
            return Outcome(None, "dns_error", response_excerpt=str(exc)[:EXCERPT_BYTES])
        original = httpx.URL(url)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "accept-encoding": "identity",
            "host": original.netloc.decode("ascii"),
            **signing.headers(secrets, message_id, int(time.time()), body),
        }
        target = original.copy_with(host=str(destination.address))
        extensions = {"sni_hostname": destination.url.host} if destination.url.scheme == "https" else {}
        client = self._plain if destination.url.scheme == "http" else self._tls_client(destination.url.host)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                request = client.build_request("POST", target, content=body, headers=headers, extensions=extensions)
                response = await client.send(request, stream=True)
                latency_ms = int((time.perf_counter() - started) * 1000)
                try:
                    received = await _read_capped(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(None, "timeout", latency_ms=int((time.perf_counter() - started) * 1000))
        except httpx.HTTPError as exc:
            return Outcome(None, "connection_error", response_excerpt=repr(exc)[:EXCERPT_BYTES])
        return Outcome(
            http_status=response.status_code,
            error=error_for_status(response.status_code),
            latency_ms=latency_ms,
            response_excerpt=received[:EXCERPT_BYTES].decode("utf-8", "replace"),
            retry_after_s=parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC)),
        )

    def _tls_client(self, host: str) -> httpx.AsyncClient:
        client = self._tls.get(host)
        if client is None:
            client = self._tls[host] = self._client()
            if len(self._tls) > _MAX_TLS_CLIENTS:
                _, oldest = self._tls.popitem(last=False)
                # Requests already on it end within the timeout; close it after that.
                asyncio.ensure_future(_close_later(oldest, self._timeout_s))
        self._tls.move_to_end(host)
        return client


async def _read_capped(response: httpx.Response) -> bytes:
    received = bytearray()
    async for chunk in response.aiter_raw():
        received += chunk
        if len(received) >= RESPONSE_CAP_BYTES:
            break
    return bytes(received[:RESPONSE_CAP_BYTES])


async def _close_later(client: httpx.AsyncClient, after_s: float) -> None:
    await asyncio.sleep(after_s + 1)
    await client.aclose()
