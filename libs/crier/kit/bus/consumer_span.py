"""The CONSUMER span around handling one message, as the OpenTelemetry messaging conventions have it.

Named `process <subject>` (the subject without the stack's namespace, so a trace viewer groups the
same work across stacks), with the messaging attributes and, when the decoded message says what it
is about, `crier.post_id`, `crier.target_id` and `crier.platform`: an SRE finds a delivery by its
ids. Messages handled together (a post's reports, in one transaction) are one span (`start_batch`).
The span's status is an error when handling failed; a message that asks to come back later
(`Retry`) handled nothing wrongly and is not one.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from crier.kit.telemetry import spans_recorded

# Fields of Crier's contracts that name what a message is about; bounded or not, they belong on a span.
_ABOUT = ("post_id", "target_id", "platform")


def start(tracer: Tracer, subject: str, msg: Msg) -> AbstractContextManager[Span]:
    if not spans_recorded():
        current = trace.get_current_span()
        if current.get_span_context().is_valid:
            # Unrecorded, the span would be its parent's context again: the one attached already.
            # Its attributes and context manager were 2 % of a sandbox publisher's CPU.
            return nullcontext(current)
    attributes: dict[str, str | int | list[str]] = {
        "messaging.destination.name": subject,
        "messaging.message.body.size": len(msg.data),
    }
    msg_id = (msg.headers or {}).get("Nats-Msg-Id")
    if msg_id:
        attributes["messaging.message.id"] = msg_id
    return _span(tracer, f"process {subject}", msg, attributes)


def start_batch(tracer: Tracer, subjects: list[str], msgs: list[Msg]) -> AbstractContextManager[Span]:
    """One span for messages handled together. As the conventions have it for a batch, it names
    their subject only when they share one (`process` alone otherwise); `crier.subjects` lists
    them all, so the handling of each subject can be found in the trace whichever came first."""
    distinct = list(dict.fromkeys(subjects))
    attributes: dict[str, str | int | list[str]] = {
        "messaging.batch.message_count": len(msgs),
        "crier.subjects": distinct,
    }
    if len(distinct) == 1:
        attributes["messaging.destination.name"] = distinct[0]
    return _span(tracer, f"process {distinct[0]}" if len(distinct) == 1 else "process", msgs[0], attributes)


def _span(
    tracer: Tracer, name: str, msg: Msg, attributes: dict[str, str | int | list[str]]
) -> AbstractContextManager[Span]:
    attributes.update(
        {"messaging.system": "nats", "messaging.operation.type": "process", "messaging.operation.name": "process"}
    )
    durable = msg.metadata.consumer
    if durable:
        attributes["messaging.consumer.group.name"] = durable
    # The consumer judges what was raised (a Retry is no error), not the span on its way out.
    return tracer.start_as_current_span(
        name,
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    )


def describe(span: Span, message: Any) -> None:
    """What the decoded message is about, for the fields it has."""
    for name in _ABOUT:
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            span.set_attribute(f"crier.{name}", value)


def failed(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_attribute("error.type", type(exc).__qualname__)
    # A status description is a line in a trace viewer, not the place for a whole message.
    span.set_status(Status(StatusCode.ERROR, next(iter(str(exc).splitlines()), "")[:200]))
