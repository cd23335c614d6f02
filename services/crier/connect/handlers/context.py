"""What every use case needs: the unit of work, the vault, the platforms' providers, the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crier.connect.adapters.providers import Providers
from crier.connect.adapters.vault import Vault
from crier.connect.settings import ConnectSettings
from crier.kit.clock import Clock, utc_now
from crier.kit.uow import UnitOfWork


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    vault: Vault
    settings: ConnectSettings
    providers: Providers
    clock: Clock = utc_now

    def now(self) -> datetime:
        return self.clock()

    @property
    def public_url(self) -> str:
        return self.settings.public_url.rstrip("/")
