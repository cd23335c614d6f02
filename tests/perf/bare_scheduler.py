"""The scheduler's work done bare, for the benchmark's ratios: raw asyncpg and a JetStream publish loop.

A copy of the timetable (`bare.timetable`, the same rows, indexes and pending backlog) is fired by
the same statements Crier runs: the due rows locked and marked fired with `UPDATE … RETURNING` in
batches of up to 1,000, two outbox rows per target (the queued event and the command) inserted in
the same transaction; beside it a relay publishes the outbox in order to JetStream with a message
id, waits for the acks and deletes what it sent. One task sleeps until the next due moment as
Crier's alarm does; no framework, no tracing, no metrics.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import asyncpg

from crier.kit.bus import Bus

_SETUP = """
DROP SCHEMA IF EXISTS bare CASCADE;
CREATE SCHEMA bare;
CREATE TABLE bare.timetable (LIKE scheduler.timetable INCLUDING ALL);
CREATE TABLE bare.outbox (seq bigserial PRIMARY KEY, msg_id text NOT NULL, subject text NOT NULL,
                          payload bytea NOT NULL, headers text NOT NULL);
INSERT INTO bare.timetable SELECT * FROM scheduler.timetable WHERE fired_at IS NULL AND NOT canceled;
ANALYZE bare.timetable;
"""
# The same rows as Crier's run, moved by `shift` seconds: due over the same kind of minute.
_DUE_COPY = """
INSERT INTO bare.timetable
SELECT (jsonb_populate_record(NULL::bare.timetable, to_jsonb(t) || jsonb_build_object(
    'due_at', t.due_at + $3::float8 * interval '1 second', 'fired_at', NULL))).*
FROM scheduler.timetable t WHERE t.due_at >= $1 AND t.due_at <= $2
"""
_FIRE = """
UPDATE bare.timetable SET fired_at = clock_timestamp()
WHERE target_id IN (SELECT target_id FROM bare.timetable
                    WHERE fired_at IS NULL AND NOT canceled AND due_at <= (SELECT clock_timestamp())
                    ORDER BY due_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
RETURNING target_id, post_id, platform, command::text
"""
_NEXT = "SELECT min(due_at) - clock_timestamp() FROM bare.timetable WHERE fired_at IS NULL AND NOT canceled"
_OUTBOX = "INSERT INTO bare.outbox (msg_id, subject, payload, headers) VALUES ($1, $2, $3, '{}')"


async def prepare(database_url: str, first_due: datetime, last_due: datetime, shift_s: float) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(_SETUP)
        await conn.execute(_DUE_COPY, first_due, last_due, shift_s)
        await conn.execute("ANALYZE bare.timetable")
    finally:
        await conn.close()


async def run(database_url: str, bus: Bus, subject: str, count: int, deadline_s: float) -> None:
    """Fires until `count` targets have gone out, then returns (TimeoutError after `deadline_s`)."""
    db = await asyncpg.connect(database_url)
    relay_db = await asyncpg.connect(database_url)
    written = asyncio.Event()
    sent = 0

    async def fire() -> None:
        while sent < count:
            async with db.transaction():
                rows = await db.fetch(_FIRE)
                messages = []
                for r in rows:
                    event = {"id": str(uuid.uuid4()), "post_id": r["post_id"], "target_id": r["target_id"]}
                    messages.append((event["id"], f"{subject}.queued", json.dumps(event).encode()))
                    messages.append((r["target_id"], f"{subject}.{r['platform']}", r["command"].encode()))
                if messages:
                    await db.executemany(_OUTBOX, messages)
            if rows:
                written.set()
                continue
            wait = await db.fetchval(_NEXT)
            await asyncio.sleep(min(5.0, max(0.0, wait.total_seconds())) if wait is not None else 0.05)

    async def relay() -> None:
        nonlocal sent
        while sent < count:
            written.clear()
            async with relay_db.transaction():
                rows = await relay_db.fetch(
                    "SELECT seq, msg_id, subject, payload FROM bare.outbox ORDER BY seq LIMIT 500"
                )
                acks = [
                    await bus.js.publish_async(r["subject"], r["payload"], headers={"Nats-Msg-Id": r["msg_id"]})
                    for r in rows
                ]
                await asyncio.gather(*acks)
                await relay_db.execute("DELETE FROM bare.outbox WHERE seq = ANY($1)", [r["seq"] for r in rows])
            sent += sum(1 for r in rows if r["subject"].endswith(".queued"))
            if not rows:
                try:
                    await asyncio.wait_for(written.wait(), timeout=0.2)
                except TimeoutError:
                    pass

    try:
        await asyncio.wait_for(asyncio.gather(fire(), relay()), timeout=deadline_s)
    finally:
        await db.close()
        await relay_db.close()
