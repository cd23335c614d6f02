"""The scheduler's one durable consumer: post lifecycle events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import msgspec

from crier.contracts.events import PostCanceled, PostCreated, PostRedriven, PostUpdated
from crier.kit.bus import Bus, consumer, streams
from crier.scheduler.handlers.context import Context
from crier.scheduler.handlers.posts import post_canceled, post_created, post_redriven, post_updated
from crier.scheduler.settings import SchedulerSettings

DURABLE = "scheduler"
TYPES: dict[str, type] = {
    "evt.post.created": PostCreated,
    "evt.post.updated": PostUpdated,
    "evt.post.canceled": PostCanceled,
    "evt.post.redriven": PostRedriven,
    # Other post events (roll-ups) are none of the timetable's business;
    # decoding them as raw bytes acks them instead of dead-ending them as undecodable.
    "evt.post.*": msgspec.Raw,
}


async def post_events(bus: Bus, ctx: Context, settings: SchedulerSettings, stop: asyncio.Event) -> Awaitable[None]:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=["evt.post.>"])

    async def on_event(subject: str, event: Any, _: Any) -> None:
        if subject == "evt.post.created":
            await post_created(ctx, event)
        elif subject == "evt.post.updated":
            await post_updated(ctx, event)
        elif subject == "evt.post.canceled":
            await post_canceled(ctx, event)
        elif subject == "evt.post.redriven":
            await post_redriven(ctx, event)

    return consumer.run(
        bus,
        sub,
        TYPES,
        on_event,
        stop,
        max_failures=settings.consumer_max_failures,
        concurrency=settings.scheduler_event_concurrency,
        ordered_by=consumer.by_post,
    )
