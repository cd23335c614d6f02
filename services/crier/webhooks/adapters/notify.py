"""LISTEN for `webhooks_due`: every process that commits a delivery change NOTIFYs, so each
replica's dispatcher wakes at once instead of polling the table. While the database is away the
listener reconnects after a growing pause and logs the outage when it begins and when it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.kit.db import async_url
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.waiting import first_of

log = get(__name__)
CHANNEL = "webhooks_due"
_PING_S = 30.0


# What wakes every replica's dispatcher once the statement's transaction commits (Postgres holds a
# NOTIFY until then, and drops it on rollback): an expression, for statements that wake them too.
WAKE = f"pg_notify('{CHANNEL}', '')"
_ANNOUNCE = sa.text(f"SELECT {WAKE}")


async def announce(conn: AsyncConnection) -> None:
    """Wake every replica's dispatcher once the caller's transaction commits."""
    await conn.execute(_ANNOUNCE)


class DueListener:
    def __init__(self, database_url: str, on_notify: Callable[[], None]) -> None:
        self._dsn = async_url(database_url).replace("postgresql+asyncpg://", "postgresql://", 1)
        self._on_notify = on_notify

    async def run(self, stop: asyncio.Event) -> None:
        outage = Outage("webhooks.listen", logger=log)
        while not stop.is_set():
            conn: Any = None
            try:
                conn = await asyncpg.connect(self._dsn)
                await conn.add_listener(CHANNEL, lambda *_: self._on_notify())
                outage.succeeded()
                # Anything committed while we were not listening would otherwise wait for a timer.
                self._on_notify()
                while not stop.is_set():
                    await conn.execute("SELECT 1")  # notices a dead connection; no table is read
                    await first_of(stop, timeout=_PING_S)
            except Exception as exc:
                if stop.is_set():
                    break
                await first_of(stop, timeout=outage.failed(exc))
            finally:
                if conn is not None:
                    try:
                        await conn.close(timeout=2)
                    except Exception:
                        conn.terminate()
