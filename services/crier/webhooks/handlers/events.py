"""The intake of internal events, and the public event feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from crier.contracts.events import PostCreated, PostUpdated
from crier.contracts.webhooks import EVENT_TYPES, Event, EventList, EventPage
from crier.kit.errors import Invalid
from crier.kit.pages import BadCursor, checked_limit
from crier.webhooks.adapters import events
from crier.webhooks.domain import catalog
from crier.webhooks.handlers.context import Context

_EVENT = msgspec.json.Decoder(Event)
# The events that name a post's targets, remembered so its target events can carry their accounts.
_POSTS = (PostCreated, PostUpdated)
# A seq fits a bigint: 18 digits always do.
_MAX_CURSOR_DIGITS = 18


@dataclass(frozen=True)
class Incoming:
    subject: str
    # The decoded internal event; None for a subject without a public counterpart.
    event: Any
    # The W3C traceparent it travelled with: its deliveries continue that trace.
    traceparent: str | None = None


async def ingest_events(ctx: Context, batch: Sequence[Incoming]) -> None:
    """Store the public events a batch of internal events stands for, and their deliveries, in
    the transaction that claims the internal events: a redelivered event changes nothing."""
    relevant = [i for i in batch if isinstance(i.event, _POSTS) or catalog.translate(i.subject, i.event)]
    if not relevant:
        return
    ids = list(dict.fromkeys(_envelope(i.event)[2] for i in relevant))
    remember = [
        (_envelope(i.event)[2], t)
        for i in relevant
        if isinstance(i.event, _POSTS)
        for t in catalog.known_targets(i.event)
    ]
    wanted = sorted({t for i in relevant if (t := getattr(i.event, "target_id", None))})
    async with ctx.uow.begin() as tx:
        new, targets = await events.claim_and_know(tx.conn, ctx.uow.consumer, ids, remember, wanted)
        fresh = []
        for item in relevant:
            event_id = _envelope(item.event)[2]
            if event_id in new:
                new.discard(event_id)  # the same event twice in one batch counts once
                fresh.append(item)
        translated = [
            ((*_envelope(i.event)[:2], public), i.traceparent)
            for i in fresh
            for public in catalog.translate(i.subject, i.event, targets.get(getattr(i.event, "target_id", "")))
        ]
        created = await events.append(tx.conn, [s for s, _ in translated], [t for _, t in translated])
    if created:
        ctx.wake()


async def list_events(ctx: Context, request: EventList) -> EventPage:
    """The feed, oldest first after `request.after`. Its cursor is an event's seq, not a keyset
    position: seqs commit in order (see adapters.events), so a poller never skips one."""
    limit = checked_limit(request.limit)
    if request.type is not None and request.type not in EVENT_TYPES:
        raise Invalid.one("type", "unknown_event_type", f"unknown event type {request.type!r}")
    after = _seq_of(request.after)
    async with ctx.uow.read() as conn:
        rows = await events.feed(conn, request.org_id, request.mode, after, request.type, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(
        data=[_EVENT.decode(bytes(r.body)) for r in rows],
        next_cursor=str(rows[-1].seq) if rows else request.after,
        has_more=more,
    )


def _seq_of(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > _MAX_CURSOR_DIGITS:
        raise BadCursor()
    return int(cursor)


def _envelope(event: Any) -> tuple[str, str, str]:
    """(org_id, mode, id): import events arrive as dicts, the others as contract structs."""
    if isinstance(event, dict):
        return str(event["org_id"]), str(event["mode"]), str(event["id"])
    return event.org_id, event.mode, event.id
