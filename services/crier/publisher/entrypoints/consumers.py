"""The publisher's JetStream consumers: one work queue per platform, plus post cancellations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from crier.contracts.commands import PublishTarget, publish_subject
from crier.contracts.common import Platform
from crier.contracts.events import PostCanceled
from crier.kit.bus import Bus, consumer, streams
from crier.publisher.entrypoints.heartbeat import in_progress
from crier.publisher.handlers.cancellations import record_cancellation
from crier.publisher.handlers.context import Context
from crier.publisher.handlers.delivery import deliver
from crier.publisher.settings import PublisherSettings


def durable_for(platform: Platform) -> str:
    return f"publisher-{platform}"


async def publish_queue(
    bus: Bus, ctx: Context, platform: Platform, settings: PublisherSettings, stop: asyncio.Event
) -> Awaitable[None]:
    subject = publish_subject(platform)
    sub = await consumer.bind(
        bus,
        stream=streams.PUBLISH,
        durable=durable_for(platform),
        subjects=[subject],
        ack_wait_s=settings.publisher_ack_wait_s,
    )
    heartbeat_s = max(0.2, settings.publisher_ack_wait_s / 3)

    async def on_publish(_: str, cmd: PublishTarget, msg: Any) -> None:
        async with in_progress(msg, heartbeat_s):
            retry = await deliver(ctx, cmd)
        if retry is not None:
            raise consumer.Retry(retry.delay_s)

    # A batch no larger than the concurrency: fetched messages waiting for a free slot would not
    # be heartbeating and could time out into a duplicate delivery.
    return consumer.run(
        bus,
        sub,
        {subject: PublishTarget},
        on_publish,
        stop,
        batch=settings.publisher_concurrency,
        concurrency=settings.publisher_concurrency,
        max_failures=settings.consumer_max_failures,
    )


async def cancellations(bus: Bus, ctx: Context, settings: PublisherSettings, stop: asyncio.Event) -> Awaitable[None]:
    sub = await consumer.bind(
        bus,
        stream=streams.EVENTS,
        durable="publisher-cancellations",
        subjects=["evt.post.canceled"],
    )

    async def on_canceled(_: str, event: PostCanceled, __: Any) -> None:
        await record_cancellation(ctx, event)

    return consumer.run(
        bus, sub, {"evt.post.canceled": PostCanceled}, on_canceled, stop, max_failures=settings.consumer_max_failures
    )
