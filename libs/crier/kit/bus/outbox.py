"""Transactional outbox: an event is written in the same Postgres transaction as the state change
it describes, and a relay publishes it to JetStream with `Nats-Msg-Id` = event id.

A crash between commit and publish only delays the event (the relay retries); a crash after the
publish, before the relay's delete commits, republishes it, and JetStream's duplicate window drops
the copy. While the database or the bus is away the relay retries with a growing pause and logs the
outage twice, when it begins and when it ends (`kit.outage`). `watch_outbox` reports what waits in
the outbox on every scrape of the service's metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from opentelemetry.trace import SpanKind
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.selectable import CTE

from crier.kit.bus.connection import Bus
from crier.kit.direct_sql import DirectStatement, fetch
from crier.kit.kept_connections import KeptConnections
from crier.kit.log import get
from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import OUTBOX_BACKLOG, OUTBOX_LAG
from crier.kit.outage import Outage
from crier.kit.telemetry import extract_context, inject_headers, spans_recorded, tracer
from crier.kit.waiting import first_of

log = get(__name__)

PUBLISH_ACK_TIMEOUT_S = 5.0

# A flush's one statement: the service's relay lock, and the oldest rows deleted and returned,
# committed only once they are published. One relay at a time per service keeps events in commit
# order on the stream. The lock is taken in the statement whose snapshot reads the rows, so that
# snapshot can predate the commit of the relay that held the lock before; the rows that relay sent
# are then seen but not returned, since a DELETE skips rows a committed transaction deleted. Exactly
# the rows read are deleted: a range delete would also take a row with a lower seq whose transaction
# committed after the read, and that event would never be sent. Held is false, with no rows, when
# another relay holds the lock; a row with a null seq means the outbox was empty.
_TAKE = DirectStatement(
    """
    WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(hashtext(:n)) AS held),
    taken AS (
        DELETE FROM outbox
        WHERE seq = ANY(ARRAY(SELECT seq FROM outbox WHERE (SELECT held FROM lock) ORDER BY seq LIMIT :batch))
        RETURNING seq, msg_id, subject, payload, headers
    )
    SELECT lock.held, taken.* FROM lock LEFT JOIN taken ON true ORDER BY taken.seq
    """
)
# How soon a relay that found another replica's relay flushing looks again.
_LOCKED_RETRY_S = 0.05
# The database's clock on both sides: a replica whose clock drifts still reports the true age.
_BACKLOG = sa.text(
    "SELECT count(*) AS messages,"
    " coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) AS oldest_s FROM outbox"
)


class OutboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message to publish once the transaction that wrote it commits."""

    subject: str
    # A msgspec Struct; its `id` is the message id unless `msg_id` says otherwise.
    message: Any
    msg_id: str | None = None
    # A stored trace context, for work that belongs to an earlier request (a timetable row's)
    # rather than to the current span. None: the current span's.
    trace: dict[str, str] | None = None


async def write(conn: AsyncConnection, messages: Sequence[OutboxMessage]) -> None:
    """Queue `messages` in the caller's transaction, in order: one statement, whatever their number."""
    if messages:
        await fetch(conn, _INSERT, array_params(messages))


def insert_arrays(when: str | None = None, *, owned: bool = False) -> str:
    """The part of a statement that queues messages given as one array per column (`array_params`):
    a change can write its state and the messages announcing it in one round trip. Rows are
    numbered as the arrays hold them, so the outbox keeps their order. `when`: a condition of SQL
    the messages are queued on (e.g. that the change they announce was made). `owned`: one more
    array, `o_owner`, says what each message announces (`m.owner`), for a statement that makes
    several changes and queues the messages of those it made."""
    owner = (", CAST(:o_owner AS text[])", " owner,") if owned else ("", "")
    return (
        "INSERT INTO outbox (msg_id, subject, payload, headers)"
        " SELECT m.msg_id, m.subject, m.payload, m.headers"
        " FROM unnest(CAST(:o_msg_id AS text[]), CAST(:o_subject AS text[]), CAST(:o_payload AS bytea[]),"
        f" CAST(:o_headers AS text[]){owner[0]}) WITH ORDINALITY AS m(msg_id, subject, payload, headers,{owner[1]} n)"
        + (f" WHERE {when}" if when else "")
        + " ORDER BY m.n"
    )


INSERT_ARRAYS = insert_arrays()
# Every transaction that emits messages runs it (`uow`), on the driver directly (`kit.direct_sql`).
_INSERT = DirectStatement(INSERT_ARRAYS)

_COLUMNS: dict[str, Any] = {"msg_id": sa.Text, "subject": sa.Text, "payload": sa.LargeBinary, "headers": sa.Text}


def insert_arrays_cte(name: str, *, when: sa.ColumnElement[bool] | None = None) -> CTE:
    """`INSERT_ARRAYS` as a CTE of SQLAlchemy's expression language, for statements built with it
    (the arrays are unnested side by side, row by row in their order); same parameters. `when`: the
    messages are queued only if it holds (e.g. the change they announce was made)."""
    arrays = (sa.func.unnest(sa.bindparam(f"o_{c}", type_=ARRAY(kind))).label(c) for c, kind in _COLUMNS.items())
    table = sa.table("outbox", *(sa.column(c) for c in _COLUMNS))
    rows = sa.select(*arrays) if when is None else sa.select(*arrays).where(when)
    return sa.insert(table).from_select(list(_COLUMNS), rows).cte(name)


def array_params(messages: Sequence[OutboxMessage]) -> dict[str, list[Any]]:
    """`INSERT_ARRAYS`' parameters for `messages`."""
    rows = _rows(messages)
    return {f"o_{column}": [row[column] for row in rows] for column in _COLUMNS}


def owned_array_params(messages: Sequence[OutboxMessage], owner: str) -> dict[str, list[Any]]:
    """`insert_arrays(owned=True)`'s parameters for `messages`, all announcing `owner`."""
    return {**array_params(messages), "o_owner": [owner] * len(messages)}


def _rows(messages: Sequence[OutboxMessage]) -> list[dict[str, Any]]:
    current = _json_text(inject_headers())
    return [
        {
            "msg_id": m.msg_id or m.message.id,
            "subject": m.subject,
            "payload": msgspec.json.encode(m.message),
            "headers": current if m.trace is None else _json_text(m.trace),
        }
        for m in messages
    ]


def _json_text(headers: dict[str, str]) -> str:
    return msgspec.json.encode(headers).decode()


class Backlog(msgspec.Struct, frozen=True):
    """What the relay has still to send: how many rows, and the age of the oldest (0 when none)."""

    messages: int
    oldest_s: float


class OutboxRelay:
    def __init__(self, engine: AsyncEngine, bus: Bus, *, lock_name: str, batch: int = 500) -> None:
        self._engine = engine
        self._bus = bus
        self._lock_name = lock_name
        self._batch = batch
        self._wakeup = asyncio.Event()
        self._outage = Outage("outbox.relay", logger=log)

    def wake(self) -> None:
        self._wakeup.set()

    async def backlog(self) -> Backlog:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_BACKLOG)).one()
        return Backlog(messages=int(row.messages), oldest_s=max(0.0, float(row.oldest_s)))

    async def flush_once(self) -> int:
        """Publishes what the outbox holds, up to a batch; the number of messages sent."""
        kept = KeptConnections(self._engine, 1)
        try:
            return await self._flush(kept) or 0
        finally:
            await kept.close()

    async def _flush(self, kept: KeptConnections) -> int | None:
        """As `flush_once`, None when another relay of the service holds the lock. `kept`: the
        connection `run` keeps between flushes."""
        async with kept.transaction() as conn:
            rows = await fetch(conn, _TAKE, {"n": self._lock_name, "batch": self._batch})
            if not rows[0]["held"]:
                return None
            taken = [row for row in rows if row["seq"] is not None]
            if not taken:
                return 0
            futures = []
            for row in taken:
                subject, msg_id = row["subject"], row["msg_id"]
                headers = _sent_in_a_producer_span(subject, msg_id, msgspec.json.decode(row["headers"]))
                headers["Nats-Msg-Id"] = msg_id
                futures.append(
                    await self._bus.js.publish_async(self._bus.subject(subject), row["payload"], headers=headers)
                )
            # JetStream acknowledges in milliseconds; an ack that has not come in seconds was lost
            # with a connection or a server restart, and the batch is sent again (deduplicated by
            # Nats-Msg-Id) rather than held up for long. Raising rolls the delete back.
            await asyncio.wait_for(asyncio.gather(*futures), timeout=PUBLISH_ACK_TIMEOUT_S)
            return len(taken)

    async def run(self, stop: asyncio.Event, *, idle_poll_s: float = 1.0) -> None:
        # One connection kept while it runs: a flush through the engine (its pool, its greenlet
        # hand-offs, SQLAlchemy's BEGIN and COMMIT) was a tenth of a sandbox publisher's CPU.
        kept = KeptConnections(self._engine, 1)
        try:
            await self._run(stop, kept, idle_poll_s)
        finally:
            await kept.close()

    async def _run(self, stop: asyncio.Event, kept: KeptConnections, idle_poll_s: float) -> None:
        while not stop.is_set():
            # Cleared before the flush, not after: a wake-up that arrives while a flush runs (a
            # commit the flush's query could not see yet) must lead to one more flush.
            self._wakeup.clear()
            try:
                sent = await self._flush(kept)
            except Exception as exc:  # the bus or the database is down: wait, retry, lose nothing
                # Commits meanwhile wake nobody: they are sent once the pause is over.
                await first_of(stop, timeout=self._outage.failed(exc))
                continue
            self._outage.succeeded()
            if sent is None:
                # Another replica's relay is flushing; what this one was woken for may have
                # committed after that relay's read, so it looks again once the lock is likely free.
                self._wakeup.set()
                await first_of(stop, timeout=_LOCKED_RETRY_S)
                continue
            if sent >= self._batch:
                continue  # a full batch: more may wait
            # Anything committed since the flush's read woke us already (the event was cleared
            # before the flush), so an empty look-again would cost a transaction for nothing: four
            # round trips per flush, and under load most flushes carry a message or two.
            await first_of(self._wakeup, stop, timeout=idle_poll_s)


def watch_outbox(metrics: Metrics, relay: OutboxRelay) -> None:
    """Report the outbox's backlog and the age of its oldest row at each scrape. A growing age with
    the bus up means the relay is stuck (or another replica holds its lock and is)."""
    messages, lag = OUTBOX_BACKLOG.on(metrics), OUTBOX_LAG.on(metrics)

    async def refresh() -> None:
        backlog = await relay.backlog()
        messages.set(backlog.messages)
        lag.set(backlog.oldest_s)

    metrics.on_scrape(refresh)


def _sent_in_a_producer_span(subject: str, msg_id: str, stored: dict[str, str]) -> dict[str, str]:
    """The headers a message goes out with: the trace context of a PRODUCER span (`send <subject>`)
    opened in the trace the message was written in, so its consumers' spans hang under the send.
    A message written outside any trace starts none: a root span per housekeeping event is noise.
    With spans unrecorded, the send's span would be the stored context again: the headers go as
    stored (a few per cent of a relay's CPU under load went to making that span)."""
    if "traceparent" not in stored or not spans_recorded():
        return stored
    attributes = {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.message.id": msg_id,
    }
    with _tracer.start_as_current_span(
        f"send {subject}", context=extract_context(stored), kind=SpanKind.PRODUCER, attributes=attributes
    ):
        return {**stored, **inject_headers()}


_tracer = tracer("crier.bus.outbox")
