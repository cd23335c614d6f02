"""Request/reply over core NATS: typed requests, replies wrapped in `RpcReply`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from crier.contracts.rpc import RpcError, RpcReply
from crier.kit.bus.connection import Bus
from crier.kit.log import get

log = get(__name__)
T = TypeVar("T")


class RpcFailure(Exception):
    def __init__(self, error: RpcError) -> None:
        super().__init__(error.message)
        self.error = error


class RpcUnavailable(Exception):
    pass


async def serve(
    bus: Bus,
    subject: str,
    request_type: type[T] | None,
    handler: Callable[[T | None], Awaitable[Any]],
    *,
    queue: str,
) -> Any:
    decoder = msgspec.json.Decoder(request_type) if request_type else None

    async def on_message(msg: Msg) -> None:
        try:
            request = decoder.decode(msg.data) if decoder else None
            reply = RpcReply(ok=await handler(request))
        except RpcFailure as f:
            reply = RpcReply(error=f.error)
        except msgspec.ValidationError as exc:
            reply = RpcReply(error=RpcError(code="invalid_request", message=str(exc), status=422))
        except Exception as exc:
            log.exception("rpc.handler_failed", subject=subject, error=repr(exc))
            reply = RpcReply(error=RpcError(code="internal_error", message="internal error", status=500))
        if msg.reply:
            await msg.respond(msgspec.json.encode(reply))

    return await bus.nc.subscribe(bus.subject(subject), queue=queue, cb=on_message)


async def call(bus: Bus, subject: str, request: Any, reply_type: type[T], *, timeout: float = 5.0) -> T:
    payload = msgspec.json.encode(request) if request is not None else b""
    try:
        msg = await bus.nc.request(bus.subject(subject), payload, timeout=timeout)
    except (NatsTimeout, NoRespondersError) as exc:
        raise RpcUnavailable(subject) from exc
    reply = msgspec.json.decode(msg.data, type=RpcReply)
    if reply.error is not None:
        raise RpcFailure(reply.error)
    return msgspec.convert(reply.ok, reply_type)
