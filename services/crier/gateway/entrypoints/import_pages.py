"""The gateway's consumer of imports (`evt.import.page`, `evt.import.read`), apart from its delivery
reports so a large backfill never delays a post's status. One consumer, in stream order: an
import's pages come before its end."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from crier.contracts.imports import ImportPageRead, ImportTimelineRead
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.imports import PagesPending, complete_import, record_import_page
from crier.kit.bus import Bus, consumer, streams

DURABLE = "gateway-imports"
PAGES_PENDING_RETRY_S = 0.5
# One filter subject (NATS before 2.10 takes no more); the imports' other events are acked unread.
SUBJECTS = ["evt.import.>"]
TYPES: dict[str, type] = {
    "evt.import.page": ImportPageRead,
    "evt.import.read": ImportTimelineRead,
    "evt.import.*": msgspec.Raw,
}


async def run(bus: Bus, ctx: Context, stop: asyncio.Event, *, max_failures: int) -> None:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=SUBJECTS)

    async def on_import(_: str, event: Any, __: Any) -> None:
        if isinstance(event, ImportTimelineRead):
            try:
                await complete_import(ctx, event)
            except PagesPending:
                raise consumer.Retry(PAGES_PENDING_RETRY_S) from None
        elif isinstance(event, ImportPageRead):
            await record_import_page(ctx, event)

    await consumer.run(bus, sub, TYPES, on_import, stop, max_failures=max_failures)
