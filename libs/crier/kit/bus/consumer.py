"""Durable pull consumers that read like a function per subject.

A handler gets the decoded message; returning normally acks it, raising `Retry(delay)` naks it with
that delay, raising `Drop` dead-letters it at once. Any other exception is either an outage (the
database or the bus away: `kit.transient`), retried with a growing delay until it passes, or a
failure of this message: retried a few times, then terminated with its content and the error kept
on the DEAD stream (`dead.<subject>`) and logged. Nothing is ever retried every second forever.
Each message is handled in a CONSUMER span continuing the trace its headers carry (`consumer_span`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError, NotFoundError
from opentelemetry import context as otel_context

from crier.kit.bus import consumer_span, streams
from crier.kit.bus.connection import Bus
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.telemetry import extract_context, tracer
from crier.kit.transient import is_transient
from crier.kit.waiting import first_of

log = get(__name__)

# How many failures a message gets before it is dead-lettered (CRIER_CONSUMER_MAX_FAILURES).
MAX_FAILURES = 5
# The delay after the n-th failure is BASE·2^(n−1), capped: an outage is probed ever less often.
_BACKOFF_BASE_S, _BACKOFF_MAX_S = 0.5, 30.0
# Failure counts are kept per process for the messages it has seen recently.
_REMEMBERED = 10_000


class Retry(Exception):
    def __init__(self, delay_s: float) -> None:
        super().__init__(f"retry in {delay_s:.2f}s")
        self.delay_s = delay_s


class OneByOne(Exception):
    """Raised by a `handle_together` handler that will not take these messages at once: each is
    handled on its own instead."""


class Drop(Exception):
    """A message that can never be handled (undecodable): dead-letter it instead of looping."""


Handler = Callable[[str, Any, Msg], Awaitable[None]]
# Several messages of one key, decoded, in stream order: (subject, message, raw message) each.
GroupHandler = Callable[[list[tuple[str, Any, Msg]]], Awaitable[None]]


async def bind(
    bus: Bus,
    *,
    stream: streams.StreamSpec,
    durable: str,
    subjects: Sequence[str],
    ack_wait_s: float = 30,
    max_deliver: int = -1,
    max_ack_pending: int = 10_000,
) -> JetStreamContext.PullSubscription:
    """Bind to the durable consumer, creating it, or updating it on the server when its settings
    changed: a consumer keeps the configuration it was created with until someone updates it, so
    a longer ack wait in the settings would otherwise never take effect."""
    name = bus.stream(stream)
    filters = [bus.subject(s) for s in subjects]
    server = _server_version(bus)
    if len(filters) > 1 and server < (2, 10):
        # Such a server ignores `filter_subjects` and hands the consumer the whole stream: its
        # subjects without a decoder would be dead-lettered. Said plainly at start-up.
        log.error(
            "bus.server_too_old",
            server_version=".".join(map(str, server)),
            consumer=durable,
            needs="NATS 2.10 or later (consumers filtered on several subjects)",
        )
    wanted = ConsumerConfig(
        durable_name=durable,
        name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
        max_ack_pending=max_ack_pending,
        filter_subjects=filters if len(filters) > 1 else None,
        filter_subject=filters[0] if len(filters) == 1 else None,
    )
    try:
        current = (await bus.js.consumer_info(name, durable)).config
    except NotFoundError:
        current = None
    if current is None:
        try:
            await bus.js.add_consumer(name, config=wanted)
        except BadRequestError:
            current = (await bus.js.consumer_info(name, durable)).config  # another replica made it first
    if current is not None:
        changes = _differences(current, wanted)
        if changes:
            # Same name, new settings: JetStream updates the consumer in place, keeping its position.
            await bus.js.add_consumer(name, config=wanted)
            log.info("bus.consumer_updated", stream=name, consumer=durable, changes=changes)
    return await bus.js.pull_subscribe_bind(durable=durable, stream=name)


def _server_version(bus: Bus) -> tuple[int, int]:
    version = bus.nc.connected_server_version
    return (version.major, version.minor)


def _differences(current: ConsumerConfig, wanted: ConsumerConfig) -> dict[str, list[Any]]:
    def filters(c: ConsumerConfig) -> list[str]:
        return sorted({*(c.filter_subjects or []), *([c.filter_subject] if c.filter_subject else [])})

    out: dict[str, list[Any]] = {}
    for field in ("ack_wait", "max_deliver", "max_ack_pending"):
        old, new = getattr(current, field), getattr(wanted, field)
        if old != new and not (isinstance(old, float | int) and isinstance(new, float | int) and abs(old - new) < 1e-3):
            out[field] = [old, new]
    if filters(current) != filters(wanted):
        out["filter_subjects"] = [filters(current), filters(wanted)]
    return out


class _Failures:
    """How often each recent message has failed in this process, by stream sequence."""

    def __init__(self) -> None:
        self._counts: OrderedDict[int, int] = OrderedDict()

    def add(self, seq: int) -> int:
        count = self._counts.pop(seq, 0) + 1
        self._counts[seq] = count
        if len(self._counts) > _REMEMBERED:
            self._counts.popitem(last=False)
        return count

    def forget(self, seq: int) -> None:
        self._counts.pop(seq, None)


def outage_wait_s(outage: Outage) -> float:
    """How long a message waits when an outage stopped it: about as long as the outage has lasted
    so far (0.5 s to 30 s). Counting failures would not do: many messages in flight fail at once,
    and a three-second outage would send every one of them away for the full thirty."""
    return min(_BACKOFF_MAX_S, max(_BACKOFF_BASE_S, outage.lasted_s))


def backoff_s(failures: int) -> float:
    return float(min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2 ** max(0, failures - 1)))


def settler(
    bus: Bus, types: dict[str, type], handler: Handler, *, max_failures: int = MAX_FAILURES
) -> Callable[[Msg], Coroutine[Any, Any, None]]:
    """What handles one fetched message and settles it: ack, nak with a delay, or dead-letter.
    Shared by `run` and by intakes that fetch their messages themselves."""
    decode = _decoder_of(types)
    span_tracer = tracer("crier.bus")
    failures = _Failures()
    # The database or the bus away: one line when it begins and one when it ends, not a line per
    # message; a bug: its traceback, at most once a minute.
    handling = Outage("bus.handler", logger=log)

    async def settle(msg: Msg) -> None:
        subject = bus.unprefix(msg.subject)
        seq = msg.metadata.sequence.stream
        token = otel_context.attach(extract_context(msg.headers))
        try:
            with consumer_span.start(span_tracer, subject, msg) as span:
                try:
                    message = decode(subject, msg.data)
                    consumer_span.describe(span, message)
                    await handler(subject, message, msg)
                    await msg.ack()
                    failures.forget(seq)
                    if handling.down:
                        handling.succeeded()
                except Retry as r:
                    span.set_attribute("crier.retry_in_s", r.delay_s)
                    await _quietly(msg.nak(delay=r.delay_s))
                except Drop as d:
                    consumer_span.failed(span, d)
                    await dead_letter(bus, msg, subject, f"undecodable: {d}", failures=1)
                except Exception as exc:
                    consumer_span.failed(span, exc)
                    if is_transient(exc):
                        handling.failed(exc, subject=subject)
                        await _quietly(msg.nak(delay=outage_wait_s(handling)))
                    else:
                        count = failures.add(seq)
                        if count >= max_failures:
                            failures.forget(seq)
                            await dead_letter(bus, msg, subject, repr(exc), failures=count)
                        else:
                            handling.failed(exc, subject=subject, failures=count)
                            await _quietly(msg.nak(delay=backoff_s(count)))
        finally:
            otel_context.detach(token)

    return settle


async def run(
    bus: Bus,
    sub: JetStreamContext.PullSubscription,
    types: dict[str, type],
    handler: Handler,
    stop: asyncio.Event,
    *,
    batch: int = 64,
    concurrency: int = 1,
    max_failures: int = MAX_FAILURES,
    ordered_by: Callable[[Msg], str] | None = None,
    handle_together: GroupHandler | None = None,
) -> None:
    """Fetch and handle messages until `stop` is set. With concurrency > 1, a batch is handled in
    parallel, and the next batch is fetched once the whole batch is settled. With `ordered_by`,
    messages of one key (a post, say) are handled one after the other in stream order, and only
    different keys in parallel: the order each key sees is the order of the stream.

    With `handle_together` too, the messages of one key in a batch go to it at once (in stream
    order, one transaction for all, say) and are acknowledged together; when it raises, or one of
    them cannot be decoded, each is handled on its own by `handler` as usual, so retries and dead
    letters stay per message."""
    settle = settler(bus, types, handler, max_failures=max_failures)
    settle_together = group_settler(bus, types, handle_together) if handle_together else None
    limiter = asyncio.Semaphore(concurrency)

    async def handle(msg: Msg) -> None:
        async with limiter:
            await settle(msg)

    async def handle_in_order(msgs: list[Msg]) -> None:
        if settle_together is not None and len(msgs) > 1:
            async with limiter:
                if await settle_together(msgs):
                    return
        for msg in msgs:
            await handle(msg)

    async def handle_batch(msgs: list[Msg]) -> None:
        if concurrency == 1:
            await handle_in_order(msgs)
        elif ordered_by is None:
            await asyncio.gather(*(handle(m) for m in msgs))
        else:
            by_key: dict[str, list[Msg]] = {}
            for msg in msgs:
                try:
                    key = ordered_by(msg)
                except Exception:
                    key = ""  # a message without a key (undecodable, say) goes its own way to settle
                by_key.setdefault(key, []).append(msg)
            await asyncio.gather(*(handle_in_order(group) for group in by_key.values()))

    fetching = Outage("bus.fetch", logger=log)
    while not stop.is_set():
        try:
            msgs = await fetch_unless_stopped(sub, batch, stop)
            if msgs is None:
                break
        except (NatsTimeout, TimeoutError):
            # An idle consumer times out too; only a connected one says the bus is back.
            if fetching.down and bus.nc.is_connected:
                fetching.succeeded()
            continue
        except Exception as exc:
            if stop.is_set():
                break
            await first_of(stop, timeout=fetching.failed(exc))
            continue
        if fetching.down:
            fetching.succeeded()
        await handle_batch(msgs)


def group_settler(
    bus: Bus, types: dict[str, type], handle_together: GroupHandler
) -> Callable[[list[Msg]], Coroutine[Any, Any, bool]]:
    """Handles messages of one key at once and acknowledges them all: True. False when they must be
    handled one by one instead (one is undecodable, or the handler raised: nothing is acknowledged).
    The work runs in the first message's trace: messages of one key belong to one post's."""
    decode = _decoder_of(types)
    span_tracer = tracer("crier.bus")

    async def settle_together(msgs: list[Msg]) -> bool:
        decoded: list[tuple[str, Any, Msg]] = []
        for msg in msgs:
            subject = bus.unprefix(msg.subject)
            try:
                decoded.append((subject, decode(subject, msg.data), msg))
            except Drop:
                return False
        token = otel_context.attach(extract_context(msgs[0].headers))
        try:
            with consumer_span.start_batch(span_tracer, [subject for subject, _, _ in decoded], msgs) as span:
                consumer_span.describe(span, decoded[0][1])
                try:
                    await handle_together(decoded)
                except OneByOne:
                    return False
                except Exception as exc:
                    span.set_attribute("crier.handled_one_by_one", repr(exc)[:200])
                    return False
        finally:
            otel_context.detach(token)
        for msg in msgs:
            await _quietly(msg.ack())
        return True

    return settle_together


async def dead_letter(bus: Bus, msg: Msg, subject: str, error: str, *, failures: int) -> None:
    """Keep the message on the DEAD stream with why it died, then terminate it. If the DEAD stream
    cannot take it right now, the message stays where it is and comes back later."""
    meta = msg.metadata
    headers = {
        # One dead copy per message and consumer, however often this is retried.
        "Nats-Msg-Id": f"{meta.stream}:{meta.sequence.stream}:{meta.consumer}:dead",
        "Crier-Error": error[:2000],
        "Crier-Subject": subject,
        "Crier-Consumer": str(meta.consumer),
        "Crier-Stream-Sequence": str(meta.sequence.stream),
        "Crier-Failures": str(failures),
    }
    try:
        await bus.js.publish(bus.subject(dead_subject(subject)), msg.data, headers=headers)
    except Exception as exc:
        log.warning("bus.dead_letter_failed", subject=subject, error=repr(exc))
        await _quietly(msg.nak(delay=_BACKOFF_MAX_S))
        return
    log.error("bus.message_dead_lettered", subject=subject, consumer=meta.consumer, failures=failures, error=error)
    await _quietly(msg.term())


class _AboutPost(msgspec.Struct):
    post_id: str = ""


_about_post = msgspec.json.Decoder(_AboutPost)


def by_post(msg: Msg) -> str:
    """`ordered_by` for messages about a post: one post's are handled in stream order, different
    posts' side by side. An undecodable message has its own key ("")."""
    try:
        return _about_post.decode(msg.data).post_id
    except msgspec.DecodeError:
        return ""


def dead_subject(subject: str) -> str:
    """Where a message of `subject` goes when no consumer could handle it."""
    return f"dead.{subject}"


async def fetch_prompt(
    sub: JetStreamContext.PullSubscription, batch: int, wait_s: float = 1.0, top_up_s: float = 0.005
) -> list[Msg]:
    """Up to `batch` messages, as soon as there is at least one.

    nats-py's `fetch(n)` on an idle consumer parks a pull request for n messages and, once the
    first arrives, keeps waiting for the other n-1 until the timeout — a second of latency for a
    lone message. So: wait for one message, then top the batch up with whatever the server has
    right now (a few milliseconds at most). Messages that arrive after the top-up's deadline stay
    in the subscription's queue and lead the next call. Raises nats' TimeoutError when idle.
    """
    msgs: list[Msg] = await sub.fetch(1, timeout=wait_s)
    if batch > len(msgs):
        try:
            msgs += await sub.fetch(batch - len(msgs), timeout=top_up_s)
        except (NatsTimeout, TimeoutError):
            # nats-py raises either kind; the messages already in hand must not be dropped.
            pass
    return msgs


async def fetch_unless_stopped(
    sub: JetStreamContext.PullSubscription, batch: int, stop: asyncio.Event
) -> list[Msg] | None:
    """`fetch_prompt`, given up (None) when `stop` is set first: an idle consumer stops at once,
    not at the end of its wait, and a service exits in a fraction of a second. A message the
    abandoned fetch had taken is not acknowledged, so JetStream delivers it again."""
    fetch = asyncio.ensure_future(fetch_prompt(sub, batch))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([fetch, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not fetch.done():
        fetch.cancel()
        await asyncio.gather(fetch, return_exceptions=True)
        return None
    return fetch.result()


def _decoder_of(types: dict[str, type]) -> Callable[[str, bytes], Any]:
    """Decodes a message of one of `types`' subjects (a `prefix.*` key covers the subjects one level
    under it); raises Drop for a subject it has no type for, or data it cannot read."""
    decoders: dict[str, msgspec.json.Decoder[Any]] = {s: msgspec.json.Decoder(kind) for s, kind in types.items()}

    def decode(subject: str, data: bytes) -> Any:
        decoder = _decoder_for(decoders, subject)
        if decoder is None:
            raise Drop(f"no decoder for {subject}")
        try:
            return decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise Drop(str(exc)) from exc

    return decode


def _decoder_for(decoders: dict[str, msgspec.json.Decoder[Any]], subject: str) -> msgspec.json.Decoder[Any] | None:
    if subject in decoders:
        return decoders[subject]
    for pattern, decoder in decoders.items():
        if pattern.endswith(".*") and subject.rsplit(".", 1)[0] == pattern[:-2]:
            return decoder
    return None


async def _quietly(aw: Awaitable[Any]) -> None:
    """An ack, nak or term whose failure changes nothing: the server redelivers after ack_wait."""
    try:
        await aw
    except Exception:
        pass
