"""The publisher's JetStream consumers: each platform's lanes of commands, plus post cancellations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from crier.contracts.commands import PUBLISH_LANES, PublishTarget, lane_subject, publish_subject
from crier.contracts.common import Platform
from crier.contracts.events import PostCanceled
from crier.kit.bus import Bus, consumer, streams
from crier.publisher.domain.rotation import Rotation
from crier.publisher.entrypoints.heartbeat import in_progress
from crier.publisher.entrypoints.intake import Intake, Lane
from crier.publisher.handlers.cancellations import record_cancellation
from crier.publisher.handlers.context import Context
from crier.publisher.handlers.delivery import deliver
from crier.publisher.settings import PublisherSettings

# The consumer of post cancellations, on stream EVENTS: one for every platform the process serves.
CANCELLATIONS = "publisher-cancellations"


def durable_for(platform: Platform) -> str:
    """The consumer of the platform's queue of earlier versions, which kept this name."""
    return f"publisher-{platform}"


def lane_tiers(platform: Platform) -> list[list[str]]:
    """The platform's lane subjects, most urgent tier first. The queue of earlier versions is one
    more immediate lane: what an older scheduler queued is delivered after an upgrade."""
    due = [lane_subject(platform, ("due", n)) for n in range(PUBLISH_LANES)]
    now = [lane_subject(platform, ("now", n)) for n in range(PUBLISH_LANES)]
    return [due, [*now, publish_subject(platform)]]


def _durable_of(platform: Platform, subject: str) -> str:
    # cmd.publish.x.due.3 → publisher-x-due-3; the old queue keeps its consumer and position.
    lane = subject.removeprefix(publish_subject(platform)).strip(".").replace(".", "-")
    return f"{durable_for(platform)}-{lane}" if lane else durable_for(platform)


def durables(platform: Platform) -> list[str]:
    """Every consumer the platform's intake reads, on stream PUBLISH: its lag is the platform's."""
    return [_durable_of(platform, s) for tier in lane_tiers(platform) for s in tier]


async def publish_queue(
    bus: Bus, ctx: Context, platform: Platform, settings: PublisherSettings, stop: asyncio.Event
) -> Awaitable[None]:
    tiers = lane_tiers(platform)
    subjects = [s for tier in tiers for s in tier]
    subs = await asyncio.gather(
        *(
            consumer.bind(
                bus,
                stream=streams.PUBLISH,
                durable=_durable_of(platform, s),
                subjects=[s],
                ack_wait_s=settings.publisher_ack_wait_s,
            )
            for s in subjects
        )
    )
    heartbeat_s = max(0.2, settings.publisher_ack_wait_s / 3)

    async def on_publish(_: str, cmd: PublishTarget, msg: Any) -> None:
        async with in_progress(msg, heartbeat_s):
            retry = await deliver(ctx, cmd)
        if retry is not None:
            raise consumer.Retry(retry.delay_s)

    intake = Intake(
        platform=platform,
        lanes=[Lane(s, sub) for s, sub in zip(subjects, subs, strict=True)],
        rotation=Rotation(tiers),
        settle=consumer.settler(
            bus, {s: PublishTarget for s in subjects}, on_publish, max_failures=settings.consumer_max_failures
        ),
        slots=settings.publisher_concurrency,
        at_hand=settings.publisher_lane_at_hand,
        heartbeat_s=heartbeat_s,
    )
    return intake.run(stop)


async def cancellations(bus: Bus, ctx: Context, settings: PublisherSettings, stop: asyncio.Event) -> Awaitable[None]:
    sub = await consumer.bind(
        bus,
        stream=streams.EVENTS,
        durable=CANCELLATIONS,
        subjects=["evt.post.canceled"],
    )

    async def on_canceled(_: str, event: PostCanceled, __: Any) -> None:
        await record_cancellation(ctx, event)

    return consumer.run(
        bus, sub, {"evt.post.canceled": PostCanceled}, on_canceled, stop, max_failures=settings.consumer_max_failures
    )
