"""Keeps a message claimed while its target is being delivered.

A thread of slow platform calls can outlast the consumer's ack wait; without a heartbeat JetStream
would hand the same target to another replica mid-delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from crier.kit.log import get

log = get(__name__)


@asynccontextmanager
async def in_progress(msg: Any, every_s: float) -> AsyncIterator[None]:
    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await msg.in_progress()
            except Exception as exc:  # the connection is down: the redelivery will sort it out
                log.warning("publisher.heartbeat_failed", error=repr(exc))

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
