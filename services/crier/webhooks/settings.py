from __future__ import annotations

from dataclasses import dataclass

from crier.kit.settings import CommonSettings


@dataclass(frozen=True)
class WebhooksSettings(CommonSettings):
    # Per-attempt limit on the whole HTTP exchange (connect, send, read the capped response).
    webhooks_timeout_s: float = 10.0
    # Multiplies every retry delay, Retry-After, and the five-day auto-disable window; tests set
    # it to 0.001 or less to run a day of retries in well under a minute.
    webhooks_retry_scale: float = 1.0
    # Plain http:// endpoints are refused unless this is on (local development, tests).
    webhooks_allow_http: bool = False
    # CIDRs exempt from the SSRF guard, e.g. "127.0.0.1/32,10.1.0.0/16" for an internal receiver.
    webhooks_allowed_networks: tuple[str, ...] = ()
    # Deliveries in flight at once in this process, and at most this many to any one endpoint.
    webhooks_concurrency: int = 64
    webhooks_endpoint_concurrency: int = 4
    # How long a claimed delivery stays ours; a crashed process's claims are retried after it.
    # Always at least webhooks_timeout_s + 1.
    webhooks_lease_s: float = 60.0
    # How long JetStream waits for the intake to ack a batch of internal events before handing it
    # out again; only one batch is out at a time, so this is also how long a crashed replica's
    # batch holds up the intake.
    webhooks_ack_wait_s: float = 10.0
    # Safety net: look at the deliveries table at least this often even without a notification.
    webhooks_max_wait_s: float = 300.0

    @property
    def lease_s(self) -> float:
        return max(self.webhooks_lease_s, self.webhooks_timeout_s + 1)
