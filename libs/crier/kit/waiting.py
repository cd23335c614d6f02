"""Waiting on several things at once without leaking the waiters."""

from __future__ import annotations

import asyncio


async def first_of(*events: asyncio.Event, timeout: float) -> None:
    """Return as soon as any of `events` is set, or after `timeout` seconds, whichever is first."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        # Let the cancellations land, so no waiter outlives the call.
        await asyncio.gather(*waits, return_exceptions=True)
