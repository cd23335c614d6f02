"""What the HTTP layer needs from the running service, held on the Litestar app's state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.gateway.settings import GatewaySettings
from crier.kit.bus import Bus


@dataclass(frozen=True)
class Gateway:
    settings: GatewaySettings
    engine: AsyncEngine
    bus: Bus
    # Nudges the outbox relay so a new post's event leaves now rather than at the next poll.
    wake: Callable[[], None]


def gateway_of(connection: Any) -> Gateway:
    return connection.app.state.gateway
