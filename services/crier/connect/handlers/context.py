"""What every use case needs: the unit of work, the vault, the platforms' providers, the clock, and
the instruments it records on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter

from crier.connect.adapters.providers import Providers
from crier.connect.adapters.vault import Vault
from crier.connect.settings import ConnectSettings
from crier.kit.clock import Clock, utc_now
from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import ACCOUNT_METRICS_CAPTURES, POST_ENGAGEMENT_READS, TOKEN_REFRESHES
from crier.kit.uow import UnitOfWork


@dataclass(frozen=True)
class Meters:
    """As `crier.kit.metrics_catalog` names them."""

    token_refreshes: Counter
    account_metrics_captures: Counter
    post_engagement_reads: Counter

    @classmethod
    def on(cls, metrics: Metrics) -> Meters:
        return cls(TOKEN_REFRESHES.on(metrics), ACCOUNT_METRICS_CAPTURES.on(metrics), POST_ENGAGEMENT_READS.on(metrics))


def _unserved() -> Meters:
    return Meters.on(Metrics("connect"))


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    vault: Vault
    settings: ConnectSettings
    providers: Providers
    clock: Clock = utc_now
    # The service's own registry, served on its operations port; a registry of its own otherwise
    # (a test's context), so no two contexts share a count.
    meters: Meters = field(default_factory=_unserved)

    def now(self) -> datetime:
        return self.clock()

    @property
    def public_url(self) -> str:
        return self.settings.public_url.rstrip("/")
