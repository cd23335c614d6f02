"""What every use case needs: the database, the vault, the providers, an HTTP client, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.connect.adapters.providers import Providers
from crier.connect.adapters.vault import Vault
from crier.connect.settings import ConnectSettings


def _now() -> datetime:
    return datetime.now(UTC)


def _nothing() -> None:
    return None


@dataclass
class Context:
    engine: AsyncEngine
    vault: Vault
    settings: ConnectSettings
    providers: Providers
    http: httpx.AsyncClient
    # Nudges the outbox relay, so an event leaves now rather than at its next poll.
    wake: Callable[[], None] = _nothing
    clock: Callable[[], datetime] = field(default=_now)

    def now(self) -> datetime:
        return self.clock()

    @property
    def public_url(self) -> str:
        return self.settings.public_url.rstrip("/")
