"""Request/reply over core NATS: typed requests, and replies wrapped in one envelope.

A handler returns its reply, or raises a `kit.errors.Failure`, which travels as an `RpcError` of
the same kind; the caller gets it back as `RpcFailure`. Anything else a handler raises is a bug:
logged here, answered as `internal`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from crier.kit.bus.connection import Bus
from crier.kit.errors import Failure, FailureKind, Invalid
from crier.kit.log import get

log = get(__name__)
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


class RpcUnavailable(Exception):
    """Nobody answered in time: the service is down, starting, or overloaded."""


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

    async def on_message(msg: Msg) -> None:
        try:
            request = decoder.decode(msg.data) if decoder else None
            reply = RpcReply(ok=await handler(request))
        except Failure as failure:
            reply = RpcReply(error=error_of(failure))
        except msgspec.ValidationError as exc:
            reply = RpcReply(error=error_of(Invalid("invalid_request", str(exc))))
        except Exception as exc:
            log.exception("rpc.handler_failed", subject=subject, error=repr(exc))
            reply = RpcReply(error=RpcError(code="internal_error", message="internal error", kind="internal"))
        if msg.reply:
            await msg.respond(msgspec.json.encode(reply))

    return await bus.nc.subscribe(bus.subject(subject), queue=queue, cb=on_message)


async def serve_all(
    bus: Bus, routes: list[tuple[str, type[Any], Callable[[Any], Awaitable[Any]]]], *, queue: str
) -> None:
    """Serve every (subject, request type, handler) route, answered by any replica in `queue`."""
    for subject, request_type, handler in routes:
        await serve(bus, subject, request_type, handler, queue=queue)


async def call(bus: Bus, subject: str, request: Any, reply_type: type[R], *, timeout: float = 5.0) -> R:
    payload = msgspec.json.encode(request) if request is not None else b""
    try:
        msg = await bus.nc.request(bus.subject(subject), payload, timeout=timeout)
    except (NatsTimeout, NoRespondersError) as exc:
        raise RpcUnavailable(subject) from exc
    reply = msgspec.json.decode(msg.data, type=RpcReply)
    if reply.error is not None:
        raise RpcFailure(reply.error)
    return msgspec.convert(reply.ok, reply_type)
