"""What the publisher's use cases work with, the instruments they record on among them."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from prometheus_client import Counter, Histogram

from crier.contracts.connect import AccountToken, TokenRequest
from crier.kit.batched_calls import BatchedCalls
from crier.kit.clock import Clock, utc_now
from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import ATTEMPTS, DEAD_LETTERS, DELIVERIES, DELIVERY_DURATION
from crier.kit.uow import UnitOfWork
from crier.platforms.base import MediaSource, PlatformAdapter
from crier.publisher.adapters import targets
from crier.publisher.domain.backoff import RetryPolicy
from crier.publisher.domain.budget import BudgetPolicy


class Tokens(Protocol):
    """Where the account's current access token comes from (connect).

    Raises `kit.errors.Gone` with `account_token_expired` or `account_disconnected` when the account
    cannot be acted as any more, `NotFound` when connect knows no such account, `Unavailable` when
    connect could not reach the platform to refresh the token. When connect itself does not answer,
    whatever it raises is an outage (`kit.transient`): the delivery stops without spending an
    attempt and the consumer brings it back.
    """

    async def token(self, request: TokenRequest) -> AccountToken: ...


@dataclass(frozen=True)
class Meters:
    """The instruments deliveries record on, as `crier.kit.metrics_catalog` names them."""

    deliveries: Counter
    duration: Histogram
    attempts: Counter
    dead_letters: Counter

    @classmethod
    def on(cls, metrics: Metrics) -> Meters:
        return cls(
            DELIVERIES.on(metrics), DELIVERY_DURATION.on(metrics), ATTEMPTS.on(metrics), DEAD_LETTERS.on(metrics)
        )


def _unserved() -> Meters:
    return Meters.on(Metrics("publisher"))


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    # By routing key (`domain.routing.adapter_key`); a platform without one fails honestly.
    adapters: Mapping[str, PlatformAdapter]
    retry: RetryPolicy
    tokens: Tokens
    # The posts' media, from the media store (`adapters.media`); None where no post carries any.
    media: MediaSource | None = None
    # The uniform draw in [0, 1) behind each backoff's full jitter.
    jitter: Callable[[], float] = field(default=random.random)
    clock: Clock = field(default=utc_now)
    # The service's own registry, served on its operations port; a registry of its own otherwise
    # (a test's context), so no two contexts share a count.
    meters: Meters = field(default_factory=_unserved)
    # Publish budgets per account and app, shared by every replica; off unless the service says.
    budgets: BudgetPolicy = field(default_factory=BudgetPolicy)
    # New targets' deliveries start together while a start is on its way (`targets.start_new`),
    # and successes are recorded together likewise (`targets.record_successes`).
    new_starts: BatchedCalls[targets.NewStart, bool] = field(init=False)
    successes: BatchedCalls[targets.Success, bool] = field(init=False)

    def __post_init__(self) -> None:
        # frozen: each set once, here
        starts = BatchedCalls(partial(targets.start_new, self.uow), key=lambda start: start.cmd.target_id)
        object.__setattr__(self, "new_starts", starts)
        successes = BatchedCalls(partial(targets.record_successes, self.uow), key=lambda success: success.target_id)
        object.__setattr__(self, "successes", successes)
