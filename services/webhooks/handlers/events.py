"""The intake of internal events, and the public event feed."""

from __future__ import annotations

from typing import Any

import msgspec

from contracts.events import PostCreated
from contracts.webhooks import EVENT_TYPES, Event, EventList, EventPage
from kit.bus import inbox
from webhooks.adapters import events
from webhooks.domain import catalog
from webhooks.domain.endpoint import Problem
from webhooks.handlers import Context
from webhooks.handlers.errors import check_limit, cursor_position, invalid

CONSUMER = "webhooks"
_EVENT = msgspec.json.Decoder(Event)


async def ingest(ctx: Context, subject: str, event: Any) -> None:
    """Store the public events an internal event stands for and their deliveries, in the
    transaction that claims the internal event: a redelivered event changes nothing."""
    remembers = isinstance(event, PostCreated)
    if not remembers and not catalog.translate(subject, event):
        return
    org_id, mode, event_id = _envelope(event)
    async with ctx.engine.begin() as conn:
        if not await inbox.first_time(conn, CONSUMER, event_id):
            return
        if remembers:
            await events.remember_targets(conn, catalog.known_targets(event))
        target_id = getattr(event, "target_id", None)
        target = await events.known_target(conn, target_id) if target_id else None
        created = await events.append(conn, org_id, mode, catalog.translate(subject, event, target))
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
