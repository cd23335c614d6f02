"""The dispatcher's one durable consumer, over every public-facing family of internal events.

It fetches a batch, handles it in one transaction, and only then acks it. If the database is
away it keeps retrying that same batch (telling JetStream it is still in progress) rather than
naking it, which would let later events overtake it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError, NotFoundError
from opentelemetry import trace
from sqlalchemy import exc as sa_exc

from crier.contracts.events import EVENT_SUBJECTS
from crier.kit.bus import Bus, consumer, streams
from crier.kit.log import get
from crier.kit.telemetry import extract_context, tracer
from crier.webhooks.handlers import Context, events
from crier.webhooks.handlers.events import Incoming

log = get(__name__)
DURABLE = "webhooks"
# The families the catalog draws from; other `evt.*` families (media, …) never become webhooks,
# so the consumer does not even fetch them.
SUBJECTS = ["evt.post.>", "evt.target.>", "evt.account.>", "evt.import.>"]
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {s: msgspec.json.Decoder(t) for s, t in EVENT_SUBJECTS.items()}
# Imports have no contract struct yet: their fields are passed through as they come.
_IMPORT = msgspec.json.Decoder(dict[str, Any])
_ENVELOPE = ("id", "org_id", "mode")
_BATCH = 256
# Failures that say the events themselves cannot be handled (bad data, a bug in their handling).
# Anything else — the database or the network being away, a deadlock — is retried with the same
# batch: stalling loudly beats dropping webhooks quietly.
_PERMANENT = (
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    sa_exc.DataError,
    sa_exc.IntegrityError,
    sa_exc.ProgrammingError,
)


async def internal_events(bus: Bus, ctx: Context, stop: asyncio.Event, *, ack_wait_s: float) -> Awaitable[None]:
    await _ensure_consumer(bus, ack_wait_s)
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=SUBJECTS, ack_wait_s=ack_wait_s)
    return _run(bus, sub, ctx, stop)


async def _ensure_consumer(bus: Bus, ack_wait_s: float) -> None:
    """One batch in flight at a time across all replicas, so batches commit in stream order and a
    target's events keep their order whichever replica takes them."""
    stream = bus.stream(streams.EVENTS)
    try:
        await bus.js.consumer_info(stream, DURABLE)
        return
    except NotFoundError:
        pass
    config = ConsumerConfig(
        durable_name=DURABLE,
        name=DURABLE,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=-1,
        max_ack_pending=_BATCH,
        filter_subjects=[bus.subject(s) for s in SUBJECTS],
    )
    try:
        await bus.js.add_consumer(stream, config=config)
    except BadRequestError:
        pass  # another replica created it first


async def _run(bus: Bus, sub: Any, ctx: Context, stop: asyncio.Event) -> None:
    span_tracer = tracer("crier.webhooks")
    while not stop.is_set():
        try:
            msgs = await consumer.fetch_prompt(sub, _BATCH)
        except (TimeoutError, NatsTimeout):
            continue
        except Exception as exc:
            if stop.is_set():
                break
            log.warning("webhooks.fetch_failed", error=repr(exc))
            await asyncio.sleep(0.5)
            continue
        batch: list[tuple[Msg, Incoming]] = []
        for msg in msgs:
            subject = bus.unprefix(msg.subject)
            try:
                event = _decode(subject, msg.data)
            except (msgspec.DecodeError, ValueError) as exc:
                log.error("bus.message_dropped", subject=subject, reason=str(exc))
                await msg.term()
                continue
            batch.append((msg, Incoming(subject, event)))
        links = [
            trace.Link(c)
            for m in msgs
            if (c := trace.get_current_span(extract_context(m.headers)).get_span_context()).is_valid
        ]
        with span_tracer.start_as_current_span("webhooks.intake", links=links):
            if not await _ingest(ctx, batch, stop):
                break
        for msg, _ in batch:
            await msg.ack()


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


class _Stopped(Exception):
    """Stopping while the database is away: the batch stays unacked, and JetStream hands it out
    again after ack_wait."""


async def _ingest(ctx: Context, batch: list[tuple[Msg, Incoming]], stop: asyncio.Event) -> bool:
    """Handle the batch, retrying while the database is away. False: stopped before it was done."""
    try:
        failure = await _until_not_transient(ctx, [i for _, i in batch], [m for m, _ in batch], stop)
        if failure is None:
            return True
        # Something in the batch cannot be handled (a bug, bad data): find it alone, drop it,
        # keep the rest.
        for msg, item in list(batch):
            failure = await _until_not_transient(ctx, [item], [msg], stop)
            if failure is not None:
                log.error("bus.message_dropped", subject=item.subject, reason=repr(failure))
                batch.remove((msg, item))
                await msg.term()
        return True
    except _Stopped:
        return False


async def _until_not_transient(
    ctx: Context, incoming: list[Incoming], msgs: list[Msg], stop: asyncio.Event
) -> Exception | None:
    """None once handled; the exception if it failed for a reason retrying cannot fix."""
    delay = 0.2
    while True:
        try:
            await events.ingest(ctx, [i for i in incoming if i.event is not None])
            return None
        except _PERMANENT as exc:
            return exc
        except Exception as exc:
            log.warning("webhooks.intake_failed", error=repr(exc), events=len(incoming))
        if stop.is_set():
            raise _Stopped
        for msg in msgs:
            try:
                await msg.in_progress()
            except Exception:
                pass
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        delay = min(delay * 2, 5.0)
