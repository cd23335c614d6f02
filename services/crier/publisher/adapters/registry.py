"""The platform adapters this publisher can deliver through, keyed by the routing key."""

from __future__ import annotations

from crier.platforms.base import PlatformAdapter
from crier.platforms.sandbox import SandboxAdapter
from crier.publisher.adapters.sandbox_ledger import PostgresSandboxLedger
from crier.publisher.domain.routing import SANDBOX


def default_adapters() -> dict[str, PlatformAdapter]:
    # Real platform adapters register here as they are written; until then a live command for their
    # platform fails honestly with `platform_not_supported`.
    return {SANDBOX: SandboxAdapter(PostgresSandboxLedger())}
