"""Request/reply over core NATS: typed requests, and replies wrapped in one envelope.

A handler returns its reply, or raises a `kit.errors.Failure`, which travels as an `RpcError` of
the same kind; the caller gets it back as `RpcFailure`. An outage under the handler (its database
away: `kit.transient`) is answered as `unavailable` and logged once per outage, and the caller gets
`RpcUnavailable`, as if nobody had answered. Anything else a handler raises is a bug: logged here
with its traceback (at most one a minute per subject), answered as `internal`.

The caller's trace goes along in the request's headers: `call` is a CLIENT span `rpc <subject>`,
and the handler runs inside a SERVER span of the same name, a child of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from crier.kit.bus.connection import Bus
from crier.kit.errors import Failure, FailureKind, Invalid
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.telemetry import extract_context, inject_headers, tracer
from crier.kit.transient import Unreachable, is_transient

log = get(__name__)
_tracer = tracer("crier.rpc")
T = TypeVar("T")
R = TypeVar("R")


class RpcError(msgspec.Struct, kw_only=True, frozen=True):
    code: str
    message: str
    kind: FailureKind | Literal["internal"] = "invalid"
    details: dict[str, Any] = {}


class RpcReply(msgspec.Struct, kw_only=True, frozen=True):
    ok: Any = None
    error: RpcError | None = None


class RpcFailure(Exception):
    def __init__(self, error: RpcError) -> None:
        super().__init__(error.message)
        self.error = error


class RpcUnavailable(Unreachable):
    """Nobody answered in time (the service is down, starting, or overloaded), or the service
    answered that what it depends on is away."""


# The code of the reply to a request whose handler met an outage.
_HANDLER_OUTAGE = "service_unavailable"


def error_of(failure: Failure) -> RpcError:
    return RpcError(code=failure.code, message=failure.message, kind=failure.kind, details=failure.details)


async def serve(
    bus: Bus,
    subject: str,
    request_type: type[T] | None,
    handler: Callable[[T | None], Awaitable[Any]],
    *,
    queue: str,
) -> Subscription:
    decoder = msgspec.json.Decoder(request_type) if request_type else None
    # Requests come one after another whatever happened to the last: the tracker only keeps the
    # log to one line per outage and one traceback a minute; nobody waits on its backoff.
    outage = Outage("rpc.handler", logger=log.bind(subject=subject))

    async def on_message(msg: Msg) -> None:
        token = otel_context.attach(extract_context(msg.headers))
        try:
            with _tracer.start_as_current_span(
                f"rpc {subject}", kind=SpanKind.SERVER, attributes=_attributes(msg.subject, "process", msg.data)
            ) as span:
                reply = await answer(msg)
                _settle_span(span, reply.error)
        finally:
            otel_context.detach(token)
        if msg.reply:
            try:
                await msg.respond(msgspec.json.encode(reply))
            except Exception as exc:  # the bus dropped meanwhile: the caller times out and retries
                log.debug("rpc.reply_lost", subject=subject, error=repr(exc))

    async def answer(msg: Msg) -> RpcReply:
        try:
            request = decoder.decode(msg.data) if decoder else None
            reply = RpcReply(ok=await handler(request))
        except Failure as failure:
            reply = RpcReply(error=error_of(failure))
        except msgspec.ValidationError as exc:
            reply = RpcReply(error=error_of(Invalid("invalid_request", str(exc))))
        except Exception as exc:
            outage.failed(exc)
            reply = RpcReply(error=_error_for(exc))
        else:
            outage.succeeded()
        return reply

    return await bus.nc.subscribe(bus.subject(subject), queue=queue, cb=on_message)


def _error_for(exc: Exception) -> RpcError:
    if is_transient(exc):
        return RpcError(code=_HANDLER_OUTAGE, message="a dependency is away; retry shortly", kind="unavailable")
    return RpcError(code="internal_error", message="internal error", kind="internal")


async def serve_all(
    bus: Bus, routes: list[tuple[str, type[Any], Callable[[Any], Awaitable[Any]]]], *, queue: str
) -> None:
    """Serve every (subject, request type, handler) route, answered by any replica in `queue`."""
    for subject, request_type, handler in routes:
        await serve(bus, subject, request_type, handler, queue=queue)


def _attributes(subject: str, operation: str, payload: bytes) -> dict[str, str | int]:
    # The OpenTelemetry messaging conventions; the subject as the bus sees it (with the namespace).
    return {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.operation.type": operation,
        "messaging.operation.name": "request" if operation == "send" else operation,
        "messaging.message.body.size": len(payload),
    }


def _settle_span(span: Span, error: RpcError | None) -> None:
    if error is None:
        return
    span.set_attribute("error.type", error.code)
    # A refusal (invalid, not found, conflict) is an answer; only a broken or absent service is an error.
    if error.kind in ("internal", "unavailable"):
        span.set_status(Status(StatusCode.ERROR, error.message))


async def call(bus: Bus, subject: str, request: Any, reply_type: type[R], *, timeout: float = 5.0) -> R:
    payload = msgspec.json.encode(request) if request is not None else b""
    full_subject = bus.subject(subject)
    with _tracer.start_as_current_span(
        f"rpc {subject}", kind=SpanKind.CLIENT, attributes=_attributes(full_subject, "send", payload)
    ) as span:
        try:
            msg = await bus.nc.request(full_subject, payload, timeout=timeout, headers=inject_headers() or None)
        except (NatsTimeout, NoRespondersError) as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, "no answer"))
            raise RpcUnavailable(subject) from exc
        reply = msgspec.json.decode(msg.data, type=RpcReply)
        _settle_span(span, reply.error)
    if reply.error is not None:
        if reply.error.kind == "unavailable" and reply.error.code == _HANDLER_OUTAGE:
            raise RpcUnavailable(subject)
        raise RpcFailure(reply.error)
    return msgspec.convert(reply.ok, reply_type)
