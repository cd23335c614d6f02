"""Keeps a message claimed while its target is being delivered.

A thread of slow platform calls can outlast the consumer's ack wait; without a heartbeat JetStream
would hand the same target to another replica mid-delivery. A beat that fails means the bus is
away; the beats of every delivery share one outage, logged when it begins and when it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from crier.kit.log import get
from crier.kit.outage import Outage

log = get(__name__)
_outage = Outage("publisher.heartbeat", logger=log)


@asynccontextmanager
async def in_progress(msg: Any, every_s: float) -> AsyncIterator[None]:
    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await msg.in_progress()
            except Exception as exc:  # the connection is down: the redelivery will sort it out
                _outage.failed(exc)
            else:
                _outage.succeeded()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
