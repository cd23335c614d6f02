"""What every gateway use case is given: the unit of work it writes and reads through, the clock,
the platforms' rules that a new post is checked against, where media lives, and the instruments
the use cases record on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from prometheus_client import Counter

from crier.gateway.domain.media import MediaPolicy
from crier.gateway.domain.target_checks import Platforms
from crier.gateway.handlers.key_cache import KeyCache
from crier.gateway.handlers.known_accounts import KnownAccounts
from crier.gateway.handlers.request_counts import RequestCounts
from crier.kit.clock import Clock, utc_now
from crier.kit.media.store import MediaStore
from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import MEDIA_STORED, POSTS_CREATED, TARGETS_CREATED
from crier.kit.uow import UnitOfWork
from crier.platforms import publishing


class MediaFetcher(Protocol):
    async def fetch(self, url: str, sink: Callable[[bytes], None], *, max_bytes: int) -> None:
        """Writes the body of `url` to `sink`; `adapters.media_fetch.FetchFailed` when it cannot."""
        ...


@dataclass(frozen=True)
class Meters:
    """As `crier.kit.metrics_catalog` names them."""

    media_stored: Counter
    # By mode, and by platform: what was accepted, counted once (an idempotent replay is not).
    posts_created: Counter
    targets_created: Counter

    @classmethod
    def on(cls, metrics: Metrics) -> Meters:
        return cls(MEDIA_STORED.on(metrics), POSTS_CREATED.on(metrics), TARGETS_CREATED.on(metrics))


def _unserved() -> Meters:
    return Meters.on(Metrics("gateway"))


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    clock: Clock = field(default=utc_now)
    platforms: Platforms = field(default=publishing)
    # None in a process that handles no media (tools, tests of other use cases).
    media_store: MediaStore | None = None
    media_fetcher: MediaFetcher | None = None
    media_policy: MediaPolicy = field(default_factory=MediaPolicy)
    # How long an Idempotency-Key's claim holds it unless its request renews it.
    idempotency_lease: timedelta = timedelta(seconds=15)
    # API keys verified in the last few seconds; a revocation empties the entry at once.
    verified_keys: KeyCache = field(default_factory=KeyCache)
    # The usable accounts creates read lately, checked again by the create that uses them.
    known_accounts: KnownAccounts = field(default_factory=KnownAccounts)
    # The requests of each API key being counted against its rate limit.
    request_counts: RequestCounts = field(default_factory=RequestCounts)
    # The service's own registry, served on its operations port; a registry of its own otherwise
    # (tools, tests), so no two contexts share a count.
    meters: Meters = field(default_factory=_unserved)

    def now(self) -> datetime:
        return self.clock()
