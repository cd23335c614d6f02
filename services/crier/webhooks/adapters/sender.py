"""One HTTP attempt: vet the address, sign, POST, read a capped response, classify the result.
Each attempt is a CLIENT span, and the receiver gets its W3C `traceparent`.

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

import httpx

from crier.kit import http_spans, ssrf
from crier.kit.errors import Problem
from crier.kit.http_pools import keeping_no_cookies
from crier.kit.version import VERSION
from crier.webhooks.adapters import guard
from crier.webhooks.domain import signing
from crier.webhooks.domain.delivery import Outcome, error_for_status, parse_retry_after
from crier.webhooks.domain.endpoint import parse_url

RESPONSE_CAP_BYTES = 64 * 1024
EXCERPT_BYTES = 1024
_MAX_CLIENTS = 1024


USER_AGENT = f"Crier-Webhooks/{VERSION}"


class Sender:
    """Keeps one small connection pool per endpoint and host name.

    Per endpoint, because httpcore's pool does work proportional to its size on every request, so
    many small pools beat one big one; per name, because an https connection is bound to the name
    it was opened for (SNI, certificate) while the pool would key it by the IP we connect to."""

    def __init__(
        self,
        policy: guard.Policy,
        *,
        timeout_s: float,
        connections_per_endpoint: int = 4,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._policy = policy
        self._verify = verify
        self._timeout_s = timeout_s
        self._limits = httpx.Limits(
            max_connections=connections_per_endpoint, max_keepalive_connections=connections_per_endpoint
        )
        self._clients: OrderedDict[tuple[str, str], httpx.AsyncClient] = OrderedDict()
        # Evicted clients waiting to be closed: held here, or the loop may collect them half-done.
        self._closing: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def send(
        self,
        endpoint_id: str,
        url: str,
        message_id: str,
        body: bytes,
        secrets: list[str],
        *,
        attempt: int | None = None,
    ) -> Outcome:
        """One attempt (the `attempt`th of this delivery, when the caller says) inside a CLIENT span
        whose `traceparent` the receiver gets, so a receiver that traces continues the trace."""
        attributes: dict[str, str | int] = {
            "crier.webhook.endpoint_id": endpoint_id,
            "crier.webhook.message_id": message_id,
        }
        if attempt is not None:
            attributes["crier.webhook.attempt"] = attempt
            if attempt > 1:
                attributes["http.request.resend_count"] = attempt - 1
        with http_spans.client_span("POST webhook", "POST", url, attributes) as span:
            outcome = await self._attempt(endpoint_id, url, message_id, body, secrets)
            if outcome.http_status is not None:
                span.set_attribute("http.response.status_code", outcome.http_status)
            if outcome.error:  # a status the receiver refused with, or no answer at all
                http_spans.failed(span, outcome.error)
            return outcome

    async def _attempt(self, endpoint_id: str, url: str, message_id: str, body: bytes, secrets: list[str]) -> Outcome:
        try:
            destination = await guard.check(parse_url(url), self._policy)
        except Problem:
            return Outcome(None, "invalid_url")
        except ssrf.Refused as refused:
            return Outcome(None, refused.reason, response_excerpt=str(refused)[:EXCERPT_BYTES])
        except ssrf.Unresolvable as exc:
            return Outcome(None, "dns_error", response_excerpt=str(exc)[:EXCERPT_BYTES])
        original = httpx.URL(url)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "accept-encoding": "identity",
            "host": original.netloc.decode("ascii"),
            **signing.headers(secrets, message_id, int(time.time()), body),
            **http_spans.with_traceparent(None),
        }
        target = original.copy_with(host=str(destination.address))
        extensions = {"sni_hostname": destination.url.host} if destination.url.scheme == "https" else {}
        client = self._client(endpoint_id, destination.url.host)
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

    def _client(self, endpoint_id: str, host: str) -> httpx.AsyncClient:
        key = (endpoint_id, host)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = keeping_no_cookies(
                httpx.AsyncClient(
                    follow_redirects=False,
                    timeout=self._timeout_s,
                    limits=self._limits,
                    trust_env=False,
                    verify=self._verify,
                )
            )
            if len(self._clients) > _MAX_CLIENTS:
                _, oldest = self._clients.popitem(last=False)
                # Requests already on it end within the timeout; close it after that.
                closing = asyncio.ensure_future(_close_later(oldest, self._timeout_s))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
        self._clients.move_to_end(key)
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
