"""Bus helpers for integration tests: read what a stream holds, publish raw messages, await a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.events import EVENT_SUBJECTS
from crier.kit.bus import Bus, streams


@dataclass(frozen=True)
class StreamMessage:
    subject: str
    data: bytes
    headers: dict[str, str]


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 20, what: str = "condition") -> Any:
    """Await `probe` until it returns something truthy (the async twin of tests.support.stack.wait_for)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def outbox_empty(db: AsyncEngine) -> bool:
    """Everything the service committed has been published to the bus: read the stream after this,
    not after the database row, or the relay may not have sent it yet."""
    async with db.connect() as conn:
        return await conn.scalar(sa.text("SELECT count(*) FROM outbox")) == 0


async def publish(bus: Bus, subject: str, message: Any, msg_id: str | None = None) -> None:
    await bus.js.publish(
        bus.subject(subject), msgspec.json.encode(message), headers={"Nats-Msg-Id": msg_id or message.id}
    )


async def read_stream(bus: Bus, spec: streams.StreamSpec, subject_filter: str = ">") -> list[StreamMessage]:
    """Every message a stream still holds, without consuming anything."""
    name = bus.stream(spec)
    info = await bus.js.stream_info(name)
    out: list[StreamMessage] = []
    if info.state.messages == 0:
        return out
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            raw = await bus.js.get_msg(name, seq=seq)
        except NotFoundError:
            continue
        subject = bus.unprefix(raw.subject or "")
        if _matches(subject_filter, subject):
            out.append(StreamMessage(subject, raw.data or b"", dict(raw.headers or {})))
    return out


async def target_events(bus: Bus, target_id: str) -> list[tuple[str, Any]]:
    """The `evt.target.*` events of one target, decoded, in stream order."""
    events = []
    for m in await read_stream(bus, streams.EVENTS, "evt.target.>"):
        event = msgspec.json.decode(m.data, type=EVENT_SUBJECTS[m.subject])
        if getattr(event, "target_id", None) == target_id:
            events.append((m.subject, event))
    return events


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)
