"""The intake against a real JetStream: commands it holds at hand stay claimed, and go back to the
queue at once when the publisher stops, instead of being redelivered after the ack wait."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from crier.kit.bus import Bus, consumer, streams
from crier.publisher.domain.rotation import Rotation
from crier.publisher.entrypoints.heartbeat import in_progress
from crier.publisher.entrypoints.intake import Intake, Lane
from tests.support.bus import eventually
from tests.support.stack import Infra

SUBJECTS = ["cmd.probe.a", "cmd.probe.b"]


@pytest.fixture
async def bus(infra: Infra) -> AsyncIterator[Bus]:
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    await bus.ensure_streams()
    yield bus
    await bus.close()


class Handler:
    """Settles like a publisher (in-progress heartbeats while delivering), holding the first one."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, int]] = []
        self.release = asyncio.Event()

    async def __call__(self, msg: Any) -> None:
        self.seen.append((msg.data, msg.metadata.num_delivered))
        if len(self.seen) == 1:
            async with in_progress(msg, 0.2):
                await self.release.wait()
        await msg.ack()


async def intake(bus: Bus, handler: Handler, ack_wait_s: float) -> Intake:
    lanes = [
        Lane(
            s,
            await consumer.bind(
                bus, stream=streams.PUBLISH, durable=s.replace(".", "-"), subjects=[s], ack_wait_s=ack_wait_s
            ),
        )
        for s in SUBJECTS
    ]
    return Intake("probe", lanes, Rotation([SUBJECTS]), handler, slots=1, at_hand=2, heartbeat_s=ack_wait_s / 3)


async def send(bus: Bus, subject: str, n: int) -> None:
    for i in range(n):
        await bus.js.publish(bus.subject(subject), f"{subject}:{i}".encode())


async def test_a_command_at_hand_outlasting_the_ack_wait_is_not_redelivered(bus: Bus) -> None:
    handler, stop = Handler(), asyncio.Event()
    running = asyncio.create_task((await intake(bus, handler, ack_wait_s=1)).run(stop))
    await send(bus, "cmd.probe.a", 3)
    await eventually(lambda: _true(len(handler.seen) == 1), what="the first delivery under way")
    held_since = time.monotonic()
    # The other two wait at hand behind the one slot for three ack waits.
    await eventually(lambda: _true(time.monotonic() - held_since > 3), timeout=10, what="three ack waits")
    handler.release.set()
    info = await eventually(lambda: _pending(bus, "cmd-probe-a", 0), what="all three acknowledged")
    stop.set()
    await running
    # Three deliveries in all: the server never took back the two held in memory to hand them out again.
    assert info.delivered.consumer_seq == 3
    assert sorted(handler.seen) == [(b"cmd.probe.a:0", 1), (b"cmd.probe.a:1", 1), (b"cmd.probe.a:2", 1)]


async def test_stopping_hands_back_what_was_at_hand_at_once(bus: Bus) -> None:
    handler, stop = Handler(), asyncio.Event()
    running = asyncio.create_task((await intake(bus, handler, ack_wait_s=60)).run(stop))
    await send(bus, "cmd.probe.b", 3)
    await eventually(lambda: _true(len(handler.seen) == 1), what="the first delivery under way")
    await eventually(lambda: _pending(bus, "cmd-probe-b", 3), what="two more at hand")
    stop.set()
    handler.release.set()
    await running
    # Back on the queue now, not in sixty seconds: a fresh reader gets both at once.
    sub = await consumer.bind(
        bus, stream=streams.PUBLISH, durable="cmd-probe-b", subjects=["cmd.probe.b"], ack_wait_s=60
    )
    msgs = await sub.fetch(2, timeout=5)
    assert sorted(m.data for m in msgs) == [b"cmd.probe.b:1", b"cmd.probe.b:2"]
    assert handler.seen == [(b"cmd.probe.b:0", 1)]


async def _pending(bus: Bus, durable: str, n: int) -> Any:
    """The consumer's state once `n` messages are out and unacknowledged and none waits on the server."""
    info = await bus.js.consumer_info(bus.stream(streams.PUBLISH), durable)
    return info if info.num_ack_pending == n and info.num_pending == 0 else None


async def _true(value: bool) -> bool:
    return value


class Counted:
    """A lane's real subscription, recording the batch each fetch asked of it."""

    def __init__(self, sub: Any) -> None:
        self.sub, self.batches = sub, []

    async def fetch(self, batch: int, timeout: float) -> Any:
        self.batches.append(batch)
        return await self.sub.fetch(batch, timeout=timeout)


async def test_a_burst_fills_every_free_slot_in_one_fetch_not_a_few_at_a_time(bus: Bus) -> None:
    subject, burst = "cmd.probe.c", 40
    sub = Counted(await consumer.bind(bus, stream=streams.PUBLISH, durable="cmd-probe-c", subjects=[subject]))
    await send(bus, subject, burst)
    release, seen = asyncio.Event(), []

    async def hold(msg: Any) -> None:
        seen.append(msg.data)
        await release.wait()
        await msg.ack()

    stop = asyncio.Event()
    lanes = [Lane(subject, sub)]  # type: ignore[arg-type]
    running = asyncio.create_task(Intake("probe", lanes, Rotation([[subject]]), hold, burst, 2, 20).run(stop))
    try:
        await eventually(lambda: _true(len(seen) == burst), what="the whole burst under way")
        # The first message, then every free slot asked for in one fetch (two slots' worth at hand
        # per fetch would take twenty). How many fetches it took depends on how fast the server
        # tops a batch up (a loaded machine gets it in several): the size asked is the intake's.
        assert sub.batches[0] == 1 and sub.batches[1] >= burst - 1, sub.batches
        release.set()
        await eventually(lambda: _pending(bus, "cmd-probe-c", 0), what="the burst acknowledged")
    finally:
        # Also when an assertion failed: held deliveries would keep the intake from stopping.
        release.set()
        stop.set()
        await running
