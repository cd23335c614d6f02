"""The gateway's consumer of imported pages (`evt.import.page`), apart from its delivery reports so a
large backfill never delays a post's status."""

from __future__ import annotations

import asyncio
from typing import Any

from crier.contracts.imports import ImportPageRead
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.imports import record_import_page
from crier.kit.bus import Bus, consumer, streams

DURABLE = "gateway-imports"
SUBJECT = "evt.import.page"


async def run(bus: Bus, ctx: Context, stop: asyncio.Event, *, max_failures: int) -> None:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=[SUBJECT])

    async def on_page(_: str, page: ImportPageRead, __: Any) -> None:
        await record_import_page(ctx, page)

    await consumer.run(bus, sub, {SUBJECT: ImportPageRead}, on_page, stop, max_failures=max_failures)
