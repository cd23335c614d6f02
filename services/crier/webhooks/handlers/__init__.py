"""Use cases of the webhook dispatcher: endpoint management (`endpoints`), the event intake and
feed (`events`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.crypto import Keyring
from crier.webhooks.adapters.guard import Policy


@dataclass(frozen=True)
class Context:
    engine: AsyncEngine
    keyring: Keyring
    policy: Policy
    # Tells this process's dispatcher that deliveries were just committed.
    wake: Callable[[], None]
