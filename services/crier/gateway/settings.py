"""The gateway's settings, read once from `CRIER_*` variables by `kit.settings.load`."""

from __future__ import annotations

from dataclasses import dataclass

from crier.kit.settings import CommonSettings

SCHEMA = "gateway"


@dataclass(frozen=True)
class GatewaySettings(CommonSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # A listening socket handed down by `crier up` to every gateway process it runs, served
    # instead of binding host and port (`kit.shared_listener`); set by the supervisor, not by hand.
    gateway_socket_fd: int | None = None
    # The address clients use; it appears in the OpenAPI document's servers list.
    public_url: str = ""
    # /readyz answers 200 only when each of these services answers its health RPC.
    required_services: tuple[str, ...] = ("scheduler", "publisher", "connect", "webhooks")
    max_body_bytes: int = 1_048_576
    # Requests per minute per API key, counted across every replica; a key may have its own limit
    # (`crier keys rate-limit`). 0 turns rate limiting off.
    api_rate_limit: int = 3000
    # How long a verified API key is trusted without looking it up again: a key revoked through
    # another replica stops working on this one within this many seconds (at once on the replica
    # that revoked it). 0 looks every key up on every request.
    api_key_cache_s: float = 5.0
    # How long a request's Idempotency-Key stays locked after the request last renewed it (every
    # third of this while it runs): how long retries of a request that died get 409.
    idempotency_lease_s: float = 15.0
    # Delivery reports and account events handled at once, one post (or account) at a time each:
    # reports of different posts are written in parallel, those of one post in stream order.
    report_concurrency: int = 8
    # Post analytics: each published target's engagement is captured once per period during its
    # first days (0 days turns the capture off).
    analytics_capture_days: float = 3.0
    analytics_capture_every_s: float = 3600.0
    # Media: the largest file an upload (or a fetch by URL) may bring; how long media is kept after
    # the last post that used it went out, and an upload no post ever used; how long one fetch by
    # URL may take; networks exempt from the SSRF guard for fetches (e.g. 127.0.0.1/32 in tests).
    media_max_bytes: int = 1 << 30
    media_retention_s: int = 7 * 24 * 3600
    media_unused_retention_s: int = 24 * 3600
    media_fetch_timeout_s: float = 60.0
    media_fetch_allowed_networks: tuple[str, ...] = ()
