"""The intake of internal events, and the public event feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from crier.contracts.events import PostCreated
from crier.contracts.webhooks import EVENT_TYPES, Event, EventList, EventPage
from crier.webhooks.adapters import events
from crier.webhooks.domain import catalog
from crier.webhooks.domain.endpoint import Problem
from crier.webhooks.handlers import Context
from crier.webhooks.handlers.errors import check_limit, cursor_position, invalid

CONSUMER = "webhooks"
_EVENT = msgspec.json.Decoder(Event)


@dataclass(frozen=True)
class Incoming:
    subject: str
    event: Any


async def ingest(ctx: Context, batch: Sequence[Incoming]) -> None:
    """Store the public events a batch of internal events stands for, and their deliveries, in
    the transaction that claims the internal events: a redelivered event changes nothing."""
    relevant = [i for i in batch if isinstance(i.event, PostCreated) or catalog.translate(i.subject, i.event)]
    if not relevant:
        return
    async with ctx.engine.begin() as conn:
        new = await events.claim_new(conn, CONSUMER, list(dict.fromkeys(_envelope(i.event)[2] for i in relevant)))
        fresh = []
        for item in relevant:
            event_id = _envelope(item.event)[2]
            if event_id in new:
                new.discard(event_id)  # the same event twice in one batch counts once
                fresh.append(item)
        await events.remember_targets(
            conn, [t for i in fresh if isinstance(i.event, PostCreated) for t in catalog.known_targets(i.event)]
        )
        targets = await events.known_targets(
            conn, sorted({t for i in fresh if (t := getattr(i.event, "target_id", None))})
        )
        scoped = [
            (*_envelope(i.event)[:2], public)
            for i in fresh
            for public in catalog.translate(i.subject, i.event, targets.get(getattr(i.event, "target_id", "")))
        ]
        created = await events.append(conn, scoped)
    if created:
        ctx.wake()


async def feed(ctx: Context, request: EventList) -> EventPage:
    check_limit(request.limit)
    if request.type is not None and request.type not in EVENT_TYPES:
        raise invalid([Problem("type", "unknown_event_type", f"unknown event type {request.type!r}")])
    after = cursor_position(request.after)
    async with ctx.engine.connect() as conn:
        rows = await events.feed(conn, request.org_id, request.mode, after or 0, request.type, request.limit)
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    return EventPage(
        data=[_EVENT.decode(bytes(r.body)) for r in rows],
        next_cursor=str(rows[-1].seq) if rows else request.after,
        has_more=more,
    )


def _envelope(event: Any) -> tuple[str, str, str]:
    if isinstance(event, dict):
        return str(event["org_id"]), str(event["mode"]), str(event["id"])
    return event.org_id, event.mode, event.id
