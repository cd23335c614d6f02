"""What every use case of the dispatcher is handed: its dependencies, built once in entrypoints.main."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crier.kit.crypto import Keyring
from crier.kit.uow import UnitOfWork
from crier.webhooks.adapters.guard import Policy
from crier.webhooks.adapters.sender import Sender
from crier.webhooks.settings import WebhooksSettings


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    settings: WebhooksSettings
    keyring: Keyring
    # The SSRF guard's rules, checked when an endpoint's URL is set and again before each attempt.
    policy: Policy
    sender: Sender
    # Tells this process's dispatcher that deliveries were just committed; other replicas hear
    # of them through Postgres' NOTIFY.
    wake: Callable[[], None]
