"""Transactional outbox: an event is written in the same Postgres transaction as the state change
it describes, and a relay publishes it to JetStream with `Nats-Msg-Id` = event id.

A crash between commit and publish only delays the event (the relay retries); a crash between
publish and delete republishes it, and JetStream's duplicate window drops the copy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import op
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crier.kit.bus.connection import Bus
from crier.kit.log import get
from crier.kit.telemetry import inject_headers

log = get(__name__)

_INSERT = sa.text(
    "INSERT INTO outbox (msg_id, subject, payload, headers) VALUES (:msg_id, :subject, :payload, :headers)"
)


def create_tables() -> None:
    """Called from each service's first migration: the outbox and the consumer inbox."""
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("msg_id", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


async def add(conn: AsyncConnection, subject: str, message: Any, *, msg_id: str | None = None) -> None:
    await add_many(conn, [(subject, message, msg_id)])


async def add_many(conn: AsyncConnection, items: Sequence[tuple[Any, ...]]) -> None:
    """Items are `(subject, message, msg_id)`, or `(subject, message, msg_id, trace)` where `trace`
    is a stored trace context (e.g. a timetable row's) for work that belongs to an earlier request
    rather than to the current span. msg_id None means the message's own id."""
    if not items:
        return
    current = json.dumps(inject_headers())
    await conn.execute(
        _INSERT,
        [
            {
                "msg_id": item[2] or item[1].id,
                "subject": item[0],
                "payload": msgspec.json.encode(item[1]),
                "headers": json.dumps(item[3]) if len(item) > 3 and item[3] is not None else current,
            }
            for item in items
        ],
    )


class OutboxRelay:
    def __init__(self, engine: AsyncEngine, bus: Bus, *, lock_name: str, batch: int = 500) -> None:
        self._engine = engine
        self._bus = bus
        self._lock_name = lock_name
        self._batch = batch
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def flush_once(self) -> int:
        async with self._engine.begin() as conn:
            # One relay at a time per service keeps events in commit order on the stream.
            got = await conn.scalar(sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:n))"), {"n": self._lock_name})
            if not got:
                return 0
            rows = (
                await conn.execute(
                    sa.text("SELECT seq, msg_id, subject, payload, headers FROM outbox ORDER BY seq LIMIT :n"),
                    {"n": self._batch},
                )
            ).all()
            if not rows:
                return 0
            futures = []
            for row in rows:
                headers = {**json.loads(row.headers), "Nats-Msg-Id": row.msg_id}
                futures.append(
                    await self._bus.js.publish_async(
                        self._bus.subject(row.subject), bytes(row.payload), headers=headers
                    )
                )
            await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
            # Exactly the rows published: a range delete would also take a row with a lower seq
            # whose transaction committed after our SELECT, and that event would never be sent.
            await conn.execute(sa.text("DELETE FROM outbox WHERE seq = ANY(:seqs)"), {"seqs": [r.seq for r in rows]})
            return len(rows)

    async def run(self, stop: asyncio.Event, *, idle_poll_s: float = 1.0) -> None:
        while not stop.is_set():
            # Cleared before the flush, not after: a wake-up that arrives while a flush runs (a
            # commit the flush's query could not see yet) must lead to one more flush.
            self._wakeup.clear()
            try:
                sent = await self.flush_once()
            except Exception as exc:  # the bus or the database is down: wait, retry, lose nothing
                log.warning("outbox.relay_failed", error=repr(exc))
                sent = 0
                await asyncio.sleep(0.5)
            if sent:
                continue
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=idle_poll_s)
            except TimeoutError:
                pass
