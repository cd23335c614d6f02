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
from crier.publisher.domain.routing import platforms_to_serve
from crier.publisher.entrypoints import consumers
from crier.publisher.handlers import Policy, Publisher
from crier.publisher.settings import PublisherSettings


def main(platform: str = "all") -> int:
    try:
        platforms = platforms_to_serve(platform)
    except ValueError as exc:
        print(f"crier serve publisher: {exc}", file=sys.stderr)  # noqa: T201 - a command-line answer
        return 2
    settings = load(PublisherSettings)

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        publisher = Publisher(rt.engine, default_adapters(), Policy.from_settings(settings), rt.relay.wake)
        queues = [await consumers.publish_queue(rt.bus, publisher, p, settings, rt.stop) for p in platforms]
        return [*queues, await consumers.cancellations(rt.bus, publisher, rt.stop)]

    return asyncio.run(run_service("publisher", "publisher", settings, body))
