"""What the HTTP layer needs from the running service, held on the Litestar app's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crier.gateway.entrypoints.http.request_metrics import RequestMeters, unserved
from crier.gateway.entrypoints.http.request_outage import RequestOutage
from crier.gateway.handlers.context import Context
from crier.gateway.settings import GatewaySettings
from crier.kit.bus import Bus


@dataclass(frozen=True)
class Gateway:
    settings: GatewaySettings
    # For what other services answer (connect, webhooks, health): the HTTP layer asks them itself.
    bus: Bus
    # For the gateway's own use cases.
    ctx: Context
    # Every request's count and duration, on the service's registry (its operations port).
    meters: RequestMeters = field(default_factory=unserved)
    # Requests failing because the database or the bus is away, logged as one outage.
    outage: RequestOutage = field(default_factory=RequestOutage)


def gateway_of(connection: Any) -> Gateway:
    return connection.app.state.gateway
