"""What the publisher's use cases work with."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from crier.contracts.connect import AccountToken, TokenRequest
from crier.kit.clock import Clock, utc_now
from crier.kit.uow import UnitOfWork
from crier.platforms.base import MediaSource, PlatformAdapter
from crier.publisher.domain.backoff import RetryPolicy


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
