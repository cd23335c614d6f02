"""The dispatcher's one durable consumer, over every public-facing family of internal events.

It fetches a batch, handles it in one transaction, and only then acks it. One batch is in flight
at a time across all replicas, so batches commit in stream order and the events of one post keep
their order whichever replica takes them. While the database is away it retries that same batch
(telling JetStream it is still in progress) rather than naking it, which would let later events
overtake it. A batch that fails for any other reason is handled again message by message: a
message that keeps failing goes to the DEAD stream with its error after `consumer_max_failures`
tries, and the others go on. An outage, of the bus or of the database, is logged when it begins and
when it ends, and retried after a growing pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from opentelemetry import trace

from crier.contracts.events import EVENT_SUBJECTS
from crier.kit.bus import Bus, consumer, streams
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.telemetry import extract_context, tracer
from crier.kit.transient import is_transient
from crier.kit.waiting import first_of
from crier.webhooks.handlers.context import Context
from crier.webhooks.handlers.events import Incoming, ingest_events

log = get(__name__)
DURABLE = "webhooks"
# The families the catalog draws from; other `evt.*` families (media, …) never become webhooks,
# so the consumer does not even fetch them.
SUBJECTS = ["evt.post.>", "evt.target.>", "evt.account.>", "evt.import.>"]
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {s: msgspec.json.Decoder(t) for s, t in EVENT_SUBJECTS.items()}
# Imports have no contract struct yet: their fields are passed through as they come.
_IMPORT = msgspec.json.Decoder(dict[str, Any])
_ENVELOPE = ("id", "org_id", "mode")
# Also the consumer's max_ack_pending: a replica holding a batch holds every message in flight.
_BATCH = 256

Batch = Sequence[tuple[Msg, Incoming]]


async def internal_events(bus: Bus, ctx: Context, stop: asyncio.Event) -> Awaitable[None]:
    sub = await consumer.bind(
        bus,
        stream=streams.EVENTS,
        durable=DURABLE,
        subjects=SUBJECTS,
        ack_wait_s=ctx.settings.webhooks_ack_wait_s,
        max_ack_pending=_BATCH,
    )
    return _Intake(bus, ctx, stop).run(sub)


class _Stopped(Exception):
    """Stopping before a batch was handled: what is left of it stays unacked, and JetStream hands
    it out again after ack_wait."""


class _Intake:
    def __init__(self, bus: Bus, ctx: Context, stop: asyncio.Event) -> None:
        self._bus, self._ctx, self._stop = bus, ctx, stop
        self._fetching = Outage("webhooks.fetch", logger=log)
        self._ingesting = Outage("webhooks.intake", logger=log)

    async def run(self, sub: JetStreamContext.PullSubscription) -> None:
        span_tracer = tracer("crier.webhooks")
        while not self._stop.is_set():
            try:
                msgs = await consumer.fetch_unless_stopped(sub, _BATCH, self._stop)
                if msgs is None:
                    break
            except (TimeoutError, NatsTimeout):
                if self._bus.nc.is_connected:  # the server answered: there was nothing to fetch
                    self._fetching.succeeded()
                continue
            except Exception as exc:
                if self._stop.is_set():
                    break
                await first_of(self._stop, timeout=self._fetching.failed(exc))
                continue
            self._fetching.succeeded()
            batch = await self._decoded(msgs)
            links = [
                trace.Link(c)
                for m in msgs
                if (c := trace.get_current_span(extract_context(m.headers)).get_span_context()).is_valid
            ]
            with span_tracer.start_as_current_span("webhooks.intake", links=links):
                try:
                    await self._handle(batch)
                except _Stopped:
                    break

    async def _decoded(self, msgs: list[Msg]) -> list[tuple[Msg, Incoming]]:
        batch = []
        for msg in msgs:
            subject = self._bus.unprefix(msg.subject)
            try:
                event = _decode(subject, msg.data)
            except (msgspec.DecodeError, ValueError) as exc:
                await consumer.dead_letter(self._bus, msg, subject, f"undecodable: {exc}", failures=1)
                continue
            batch.append((msg, Incoming(subject, event, (msg.headers or {}).get("traceparent"))))
        return batch

    async def _handle(self, batch: Batch) -> None:
        if await self._until_done(batch, waiting=batch) is None:
            for msg, _ in batch:
                await msg.ack()
            return
        # Something in the batch cannot be handled: find it by handling each message alone, in order.
        max_failures = self._ctx.settings.consumer_max_failures
        for n, (msg, item) in enumerate(batch):
            waiting = batch[n:]
            for failures in range(1, max_failures + 1):
                failure = await self._until_done([(msg, item)], waiting=waiting)
                if failure is None:
                    await msg.ack()
                    break
                if failures == max_failures:
                    await consumer.dead_letter(self._bus, msg, item.subject, repr(failure), failures=failures)
                else:
                    log.warning("webhooks.intake_failed", subject=item.subject, failures=failures, error=repr(failure))
                    await self._pause(waiting, consumer.backoff_s(failures))

    async def _until_done(self, items: Batch, *, waiting: Batch) -> Exception | None:
        """None once `items` are handled; the exception when they failed for another reason than
        an outage. An outage is waited out, with `waiting` kept in progress."""
        while True:
            try:
                await ingest_events(self._ctx, [item for _, item in items])
                self._ingesting.succeeded()
                return None
            except Exception as exc:
                if not is_transient(exc):
                    return exc
                delay = self._ingesting.failed(exc, events=len(items))
            await self._pause(waiting, delay)

    async def _pause(self, waiting: Batch, delay_s: float) -> None:
        """Wait `delay_s`, telling JetStream often enough that `waiting` is still in progress, so
        that it does not hand those messages out again meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay_s
        heartbeat_s = self._ctx.settings.webhooks_ack_wait_s / 2
        while not self._stop.is_set():
            for msg, _ in waiting:
                try:
                    await msg.in_progress()
                except Exception:
                    pass  # the bus is away too: JetStream redelivers after ack_wait, the inbox dedupes
            left = deadline - loop.time()
            if left <= 0:
                return
            await first_of(self._stop, timeout=min(left, heartbeat_s))
        raise _Stopped


def _decode(subject: str, data: bytes) -> Any | None:
    """The event, or None for a subject without a public counterpart (acked and ignored)."""
    if subject in _DECODERS:
        return _DECODERS[subject].decode(data)
    if subject.startswith("evt.import."):
        event = _IMPORT.decode(data)
        if not all(isinstance(event.get(k), str) for k in _ENVELOPE):
            raise ValueError(f"{subject} without {', '.join(_ENVELOPE)}")
        return event
    return None
