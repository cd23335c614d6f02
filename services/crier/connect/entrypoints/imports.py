"""Imports in connect: the request/reply API the gateway calls (`rpc.connect.imports.*`), and the
publisher's reports (`evt.import.*`), which keep each job's status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from functools import partial
from typing import Any

from crier.connect.entrypoints.rpc import QUEUE
from crier.connect.handlers import imports
from crier.connect.handlers.context import Context
from crier.contracts import imports as api
from crier.kit.bus import Bus, consumer, rpc, streams

DURABLE = "connect-imports"


async def serve(bus: Bus, ctx: Context) -> None:
    routes: list[tuple[str, type, Any]] = [
        (api.IMPORTS_START, api.ImportStart, imports.start),
        (api.IMPORTS_LIST, api.ImportList, imports.list_imports),
        (api.IMPORTS_GET, api.ImportRef, imports.get),
    ]
    await rpc.serve_all(
        bus, [(subject, kind, partial(use_case, ctx)) for subject, kind, use_case in routes], queue=QUEUE
    )


async def reports(bus: Bus, ctx: Context, stop: asyncio.Event) -> Awaitable[None]:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=["evt.import.>"])

    async def on_report(_: str, event: Any, __: Any) -> None:
        await imports.record(ctx, event)

    return consumer.run(bus, sub, dict(api.IMPORT_EVENT_SUBJECTS), on_report, stop)
