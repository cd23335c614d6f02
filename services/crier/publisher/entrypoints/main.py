"""`crier serve publisher --platform P`: P is one platform, a comma-separated list, or `all`.

Every platform runs the same code path; `all` simply binds every platform's queue in one process.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import Any

from crier.kit.service import Runtime, run_service
from crier.kit.settings import load
from crier.publisher.adapters.registry import default_adapters
from crier.publisher.domain.backoff import RetryPolicy
from crier.publisher.domain.routing import platforms_to_serve
from crier.publisher.entrypoints import consumers
from crier.publisher.handlers.context import Context
from crier.publisher.settings import PublisherSettings


def main(platform: str = "all") -> int:
    try:
        platforms = platforms_to_serve(platform)
    except ValueError as exc:
        print(f"crier serve publisher: {exc}", file=sys.stderr)  # noqa: T201 - a command-line answer
        return 2
    settings = load(PublisherSettings)
    retry = RetryPolicy(
        max_attempts=settings.publisher_max_attempts,
        base_s=settings.publisher_retry_base_s,
        max_s=settings.publisher_retry_max_s,
    )

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        ctx = Context(uow=rt.uow, adapters=default_adapters(), retry=retry)
        queues = [await consumers.publish_queue(rt.bus, ctx, p, settings, rt.stop) for p in platforms]
        return [*queues, await consumers.cancellations(rt.bus, ctx, settings, rt.stop)]

    return asyncio.run(run_service("publisher", "publisher", settings, body))
