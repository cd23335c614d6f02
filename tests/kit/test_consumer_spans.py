"""The span around handling a message, against a real JetStream: a CONSUMER span in the trace the
message's headers carry, with the messaging attributes and the ids of what the message is about,
and an error status when handling failed."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import msgspec
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from crier.kit.bus import Bus, consumer, streams
from tests.support.bus import eventually


class Delivery(msgspec.Struct):
    post_id: str
    target_id: str
    platform: str


TYPES: dict[str, type] = {"evt.probe.*": Delivery}


async def _handled(
    bus: Bus, exporter: InMemorySpanExporter, durable: str, handler: consumer.Handler, headers: dict[str, str]
) -> ReadableSpan:
    """Publishes one message, runs a consumer until it is handled, and returns the span of that."""
    subject = f"evt.probe.{durable}"  # each consumer reads only its own message
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=durable, subjects=[subject])
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(bus, sub, TYPES, handler, stop))
    about = Delivery(post_id=f"post_{secrets.token_hex(4)}", target_id=f"tgt_{secrets.token_hex(4)}", platform="x")
    await bus.js.publish(bus.subject(subject), msgspec.json.encode(about), headers=headers)

    async def ours() -> list[ReadableSpan]:
        spans = exporter.get_finished_spans()
        return [s for s in spans if (s.attributes or {}).get("messaging.consumer.group.name") == durable]

    spans: list[ReadableSpan] = await eventually(ours, what=f"the span of {durable}'s message")
    span = spans[0]
    stop.set()
    await task
    assert span.attributes is not None and span.attributes["crier.target_id"] == about.target_id
    assert span.attributes["crier.post_id"] == about.post_id
    return span


async def test_a_handled_message_is_a_consumer_span_of_the_senders_trace(
    bus: Bus, exporter: InMemorySpanExporter
) -> None:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    seen: list[str] = []

    async def handle(subject: str, message: Any, msg: Any) -> None:
        seen.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))

    msg_id = secrets.token_hex(8)
    headers = {"Nats-Msg-Id": msg_id, "traceparent": f"00-{trace_id}-{parent_id}-01"}
    span = await _handled(bus, exporter, "spans-ok", handle, headers)
    assert span.name == "process evt.probe.spans-ok"
    assert span.kind == SpanKind.CONSUMER
    assert format(span.context.trace_id, "032x") == trace_id and seen == [trace_id]
    assert span.parent is not None and format(span.parent.span_id, "016x") == parent_id
    assert span.attributes is not None
    assert {k: span.attributes.get(k) for k in _MESSAGING} == {
        "messaging.system": "nats",
        "messaging.destination.name": "evt.probe.spans-ok",
        "messaging.operation.type": "process",
        "messaging.consumer.group.name": "spans-ok",
        "messaging.message.id": msg_id,
        "crier.platform": "x",
    }
    assert span.status.status_code == StatusCode.UNSET


_MESSAGING = (
    "messaging.system",
    "messaging.destination.name",
    "messaging.operation.type",
    "messaging.consumer.group.name",
    "messaging.message.id",
    "crier.platform",
)


async def test_a_failed_handling_is_an_error_and_a_retry_is_not(bus: Bus, exporter: InMemorySpanExporter) -> None:
    async def broken(subject: str, message: Any, msg: Any) -> None:
        raise ValueError("bad data\nsecond line")

    async def later(subject: str, message: Any, msg: Any) -> None:
        raise consumer.Retry(60)

    headers = {"Nats-Msg-Id": secrets.token_hex(8)}
    failed = await _handled(bus, exporter, "spans-failed", broken, headers)
    assert failed.status.status_code == StatusCode.ERROR and failed.status.description == "bad data"
    assert failed.attributes is not None and failed.attributes["error.type"] == "ValueError"
    assert [e.name for e in failed.events] == ["exception"]

    retried = await _handled(bus, exporter, "spans-retried", later, {"Nats-Msg-Id": secrets.token_hex(8)})
    assert retried.status.status_code == StatusCode.UNSET
    assert retried.attributes is not None and retried.attributes["crier.retry_in_s"] == 60


async def test_messages_handled_together_are_one_span_listing_their_subjects(
    bus: Bus, exporter: InMemorySpanExporter
) -> None:
    durable = "spans-together"
    first, second = f"evt.probe.{durable}-a", f"evt.probe.{durable}-b"
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=durable, subjects=[first, second])
    about = Delivery(post_id=f"post_{secrets.token_hex(4)}", target_id=f"tgt_{secrets.token_hex(4)}", platform="x")
    for subject in (first, second, first):
        await bus.js.publish(bus.subject(subject), msgspec.json.encode(about))
    together: list[int] = []

    async def all_at_once(items: list[tuple[str, Any, Any]]) -> None:
        together.append(len(items))

    settle_together = consumer.group_settler(bus, TYPES, all_at_once)
    msgs = await sub.fetch(3, timeout=10)
    assert await settle_together(msgs)
    assert together == [3]
    [span] = [
        s for s in exporter.get_finished_spans() if (s.attributes or {}).get("messaging.consumer.group.name") == durable
    ]
    # Two subjects: the span names none (as the conventions have it for a batch) and lists both.
    assert span.name == "process" and span.kind == SpanKind.CONSUMER
    assert span.attributes is not None
    assert list(span.attributes["crier.subjects"]) == [first, second]  # type: ignore[arg-type]
    assert span.attributes["messaging.batch.message_count"] == 3
    assert "messaging.destination.name" not in span.attributes
    assert span.attributes["crier.post_id"] == about.post_id
