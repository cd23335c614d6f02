"""The publisher's queue of imports: one consumer per platform on `cmd.import.<platform>`, apart
from the publishing lanes and with a few slots of its own, so a long backfill never holds a slot a
post is waiting for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from crier.contracts.common import Platform
from crier.contracts.imports import ImportPosts, import_subject
from crier.kit.bus import Bus, consumer, streams
from crier.publisher.entrypoints.heartbeat import in_progress
from crier.publisher.handlers.importing import Importing, Later, run_import
from crier.publisher.settings import PublisherSettings


def durable_for(platform: Platform) -> str:
    return f"publisher-{platform}-imports"


async def import_queue(
    bus: Bus, importing: Importing, platform: Platform, settings: PublisherSettings, stop: asyncio.Event
) -> Awaitable[None]:
    subject = import_subject(platform)
    sub = await consumer.bind(
        bus,
        stream=streams.PUBLISH,
        durable=durable_for(platform),
        subjects=[subject],
        ack_wait_s=settings.publisher_ack_wait_s,
    )
    heartbeat_s = max(0.2, settings.publisher_ack_wait_s / 3)
    # A stopping process hands its imports back between two pages: another replica carries on
    # from the cursor the last page recorded.
    stopping = replace(importing, stopping=stop.is_set)

    async def on_import(_: str, cmd: ImportPosts, msg: Any) -> None:
        try:
            async with in_progress(msg, heartbeat_s):
                await run_import(stopping, cmd)
        except Later as later:
            raise consumer.Retry(later.delay_s) from None

    slots = max(1, settings.publisher_import_concurrency)
    return consumer.run(
        bus,
        sub,
        {subject: ImportPosts},
        on_import,
        stop,
        batch=slots,
        concurrency=slots,
        max_failures=settings.consumer_max_failures,
    )
