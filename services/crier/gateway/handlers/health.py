"""Whether the gateway's own database answers, for /readyz.

Ready means the server accepts new connections, so the probe opens one of its own. Its answer is
kept for a second and shared by the probes that arrive meanwhile: a storm of probes opens one
connection a second, not one each.
"""

from __future__ import annotations

import asyncio
import time

from crier.gateway.adapters import database
from crier.gateway.handlers.context import Context

ANSWER_KEPT_S = 1.0

# Per engine (by id; a gateway has one): when the last probe began, and the probe itself.
_probes: dict[int, tuple[float, asyncio.Task[bool]]] = {}


async def database_ready(ctx: Context, timeout_s: float) -> bool:
    """False on any failure: a probe reports, it does not raise."""
    engine = ctx.uow.engine
    began, probe = _probes.get(id(engine), (0.0, None))
    if probe is None or (probe.done() and time.monotonic() - began >= ANSWER_KEPT_S):
        probe = asyncio.ensure_future(_probe(ctx, timeout_s))
        _probes[id(engine)] = (time.monotonic(), probe)
    # shield(): a caller that gives up does not cancel the probe the others wait for.
    return await asyncio.shield(probe)


async def _probe(ctx: Context, timeout_s: float) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            return await database.accepts_new_connections(ctx.uow.engine, timeout_s)
    except Exception:
        return False
