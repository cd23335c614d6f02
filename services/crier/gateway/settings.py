"""The gateway's settings, read once from `CRIER_*` variables by `kit.settings.load`."""

from __future__ import annotations

from dataclasses import dataclass

from crier.kit.settings import CommonSettings

SCHEMA = "gateway"


@dataclass(frozen=True)
class GatewaySettings(CommonSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # The address clients use; it appears in the OpenAPI document's servers list.
    public_url: str = ""
    # /readyz answers 200 only when each of these services answers its health RPC.
    required_services: tuple[str, ...] = ("scheduler", "publisher", "connect", "webhooks")
    max_body_bytes: int = 1_048_576
