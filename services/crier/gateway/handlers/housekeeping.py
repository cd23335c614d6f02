"""Forgetting what no longer matters: expired idempotency keys, inbox entries past redelivery, and
media past its retention, and the displays of connect sessions a day past their expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from crier.gateway.adapters import connect_displays, idempotency
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.media_retention import purge_media
from crier.kit.bus import inbox, streams

# Past the EVENTS stream's retention no copy of an event can come back, so its inbox entry is dead weight.
INBOX_KEEP = timedelta(seconds=streams.EVENTS.max_age_s) + timedelta(days=1)
# A session's last page can come a while after its expiry (a slow platform, a tab left open).
SESSION_DISPLAY_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Purged:
    idempotency_keys: int
    inbox: int
    media: int = 0
    media_interrupted: int = 0


async def purge(ctx: Context) -> Purged:
    async with ctx.uow.begin() as tx:
        keys = await idempotency.purge_expired(tx.conn)
        seen = await inbox.purge(tx.conn, INBOX_KEEP)
        await connect_displays.forget_before(tx.conn, ctx.now() - SESSION_DISPLAY_KEEP)
    if ctx.media_store is None:
        return Purged(idempotency_keys=keys, inbox=seen)
    media = await purge_media(ctx)
    return Purged(idempotency_keys=keys, inbox=seen, media=media.deleted, media_interrupted=media.interrupted)
