"""The dispatcher's one durable consumer: every public-facing family of internal events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import msgspec

from contracts.events import EVENT_SUBJECTS
from kit.bus import Bus, consumer, streams
from kit.bus.consumer import Drop
from webhooks.handlers import Context, events

DURABLE = "webhooks"
# The families the catalog draws from; other `evt.*` families (media, …) never become webhooks,
# so the consumer does not even fetch them.
SUBJECTS = ["evt.post.>", "evt.target.>", "evt.account.>", "evt.import.>"]
TYPES: dict[str, type] = {
    **EVENT_SUBJECTS,
    # Events with no public counterpart (or no contract yet) are decoded as raw bytes and acked.
    "evt.post.*": msgspec.Raw,
    "evt.target.*": msgspec.Raw,
    "evt.account.*": msgspec.Raw,
    # Imports have no contract struct yet: their fields are passed through as they come.
    "evt.import.*": dict[str, Any],
}
_ENVELOPE = ("id", "org_id", "mode")


async def internal_events(bus: Bus, ctx: Context, stop: asyncio.Event, *, ack_wait_s: float) -> Awaitable[None]:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=SUBJECTS, ack_wait_s=ack_wait_s)

    async def on_event(subject: str, event: Any, _: Any) -> None:
        if isinstance(event, dict) and not all(isinstance(event.get(k), str) for k in _ENVELOPE):
            raise Drop(f"{subject} without {', '.join(_ENVELOPE)}")
        await events.ingest(ctx, subject, event)

    return consumer.run(bus, sub, TYPES, on_event, stop)
