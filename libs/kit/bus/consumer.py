"""Durable pull consumers that read like a function per subject.

A handler gets the decoded message; returning normally acks it, raising `Retry(delay)` naks it with
that delay, raising `Drop` terminates it, and any other exception is logged and redelivered soon.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import context as otel_context

from crier.kit.bus import streams
from crier.kit.bus.connection import Bus
from crier.kit.log import get
from crier.kit.telemetry import extract_context, tracer

log = get(__name__)


class Retry(Exception):
    def __init__(self, delay_s: float) -> None:
        super().__init__(f"retry in {delay_s:.2f}s")
        self.delay_s = delay_s


class Drop(Exception):
    """A message that can never be handled (undecodable): terminate it instead of looping."""


Handler = Callable[[str, Any, Msg], Awaitable[None]]


async def bind(
    bus: Bus,
    *,
    stream: streams.StreamSpec,
    durable: str,
    subjects: Sequence[str],
    ack_wait_s: float = 30,
    max_deliver: int = -1,
) -> Any:
    name = bus.stream(stream)
    config = ConsumerConfig(
        durable_name=durable,
        name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
        max_ack_pending=10_000,
        filter_subjects=[bus.subject(s) for s in subjects] if len(subjects) > 1 else None,
        filter_subject=bus.subject(subjects[0]) if len(subjects) == 1 else None,
    )
    try:
        await bus.js.consumer_info(name, durable)
    except NotFoundError:
        await bus.js.add_consumer(name, config=config)
    return await bus.js.pull_subscribe_bind(durable=durable, stream=name)


async def run(
    bus: Bus,
    sub: Any,
    types: dict[str, type],
    handler: Handler,
    stop: asyncio.Event,
    *,
    batch: int = 64,
    concurrency: int = 1,
) -> None:
    """Fetch and handle messages until `stop` is set. With concurrency > 1, a batch is handled in
    parallel (used by publishers, whose messages are independent targets)."""
    decoders = {subject: msgspec.json.Decoder(kind) for subject, kind in types.items()}
    span_tracer = tracer("crier.bus")
    limiter = asyncio.Semaphore(concurrency)

    async def handle(msg: Msg) -> None:
        subject = bus.unprefix(msg.subject)
        async with limiter:
            token = otel_context.attach(extract_context(msg.headers))
            try:
                with span_tracer.start_as_current_span(f"consume {subject}"):
                    decoder = _decoder_for(decoders, subject)
                    if decoder is None:
                        raise Drop(f"no decoder for {subject}")
                    try:
                        message = decoder.decode(msg.data)
                    except msgspec.DecodeError as exc:
                        raise Drop(str(exc)) from exc
                    await handler(subject, message, msg)
                await msg.ack()
            except Retry as r:
                await msg.nak(delay=r.delay_s)
            except Drop as d:
                log.error("bus.message_dropped", subject=subject, reason=str(d))
                await msg.term()
            except Exception as exc:
                log.exception("bus.handler_failed", subject=subject, error=repr(exc))
                await _safe(msg.nak(delay=1.0))
            finally:
                otel_context.detach(token)

    while not stop.is_set():
        try:
            msgs = await fetch_prompt(sub, batch)
        except (TimeoutError, NatsTimeout):
            continue
        except Exception as exc:
            if stop.is_set():
                break
            log.warning("bus.fetch_failed", error=repr(exc))
            await asyncio.sleep(0.5)
            continue
        if concurrency == 1:
            for msg in msgs:
                await handle(msg)
        else:
            await asyncio.gather(*(handle(m) for m in msgs))


async def fetch_prompt(sub: Any, batch: int, wait_s: float = 1.0, top_up_s: float = 0.005) -> list[Msg]:
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
        except (TimeoutError, NatsTimeout):
            # nats-py raises either kind; the messages already in hand must not be dropped.
            pass
    return msgs


def _decoder_for(decoders: dict[str, msgspec.json.Decoder], subject: str) -> msgspec.json.Decoder | None:
    if subject in decoders:
        return decoders[subject]
    for pattern, decoder in decoders.items():
        if pattern.endswith(".*") and subject.rsplit(".", 1)[0] == pattern[:-2]:
            return decoder
    return None


async def _safe(aw: Awaitable[Any]) -> None:
    try:
        await aw
    except Exception:
        pass
