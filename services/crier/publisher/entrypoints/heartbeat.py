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
    """Beats every `every_s` while the block runs. A timer rather than a task that sleeps: most
    deliveries end before the first beat, and a task per delivery (created, scheduled, cancelled)
    was a few percent of a live publisher's CPU with hundreds in flight."""
    loop = asyncio.get_running_loop()
    beating: set[asyncio.Task[None]] = set()

    def due() -> None:
        nonlocal timer
        task = loop.create_task(_beat(msg))
        beating.add(task)
        task.add_done_callback(beating.discard)
        timer = loop.call_later(every_s, due)

    timer = loop.call_later(every_s, due)
    try:
        yield
    finally:
        timer.cancel()
        for task in beating:
            task.cancel()


async def _beat(msg: Any) -> None:
    try:
        await msg.in_progress()
    except Exception as exc:  # the connection is down: the redelivery will sort it out
        _outage.failed(exc)
    else:
        _outage.succeeded()
