"""Durable consumers against a real JetStream: settings that change take effect, and a message
that keeps failing ends on the DEAD stream instead of being retried forever."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import msgspec
from structlog.testing import capture_logs

from crier.kit.bus import Bus, consumer, streams
from crier.kit.outage import Outage
from tests.support.bus import eventually, read_stream
from tests.support.stack import Infra

PROBE = ["evt.probe.>"]
TYPES: dict[str, type] = {"evt.probe.*": dict}


async def _publish(bus: Bus, subject: str, body: bytes) -> None:
    await bus.js.publish(bus.subject(subject), body, headers={"Nats-Msg-Id": secrets.token_hex(8)})


async def test_a_changed_ack_wait_and_max_deliver_are_in_force_after_a_restart(infra: Infra, bus: Bus) -> None:
    await consumer.bind(bus, stream=streams.EVENTS, durable="probe", subjects=PROBE, ack_wait_s=30)
    # The service restarts with new settings: a new connection binds the same durable consumer.
    restarted = await Bus.connect(infra.nats_url, namespace=bus.namespace)
    try:
        sub = await consumer.bind(
            restarted, stream=streams.EVENTS, durable="probe", subjects=PROBE, ack_wait_s=1, max_deliver=7
        )
        info = await restarted.js.consumer_info(restarted.stream(streams.EVENTS), "probe")
        assert (info.config.ack_wait, info.config.max_deliver) == (1, 7)
        # And the server acts on it: an unacknowledged message comes back after one second, not thirty.
        await _publish(restarted, "evt.probe.one", b"{}")
        [first] = await sub.fetch(1, timeout=5)
        [again] = await sub.fetch(1, timeout=10)
        assert again.metadata.num_delivered == 2 and again.metadata.sequence.stream == first.metadata.sequence.stream
        await again.ack()
    finally:
        await restarted.close()


async def test_a_changed_subject_filter_is_updated_in_place(bus: Bus) -> None:
    await consumer.bind(bus, stream=streams.EVENTS, durable="filters", subjects=["evt.probe.a"])
    await consumer.bind(bus, stream=streams.EVENTS, durable="filters", subjects=["evt.probe.b"])
    info = await bus.js.consumer_info(bus.stream(streams.EVENTS), "filters")
    assert info.config.filter_subject == bus.subject("evt.probe.b")


async def _run(bus: Bus, durable: str, handler: consumer.Handler, **options: Any) -> tuple[asyncio.Event, Any]:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=durable, subjects=PROBE, ack_wait_s=10)
    stop = asyncio.Event()
    return stop, asyncio.create_task(consumer.run(bus, sub, TYPES, handler, stop, **options))


async def _settled(bus: Bus, durable: str) -> bool:
    info = await bus.js.consumer_info(bus.stream(streams.EVENTS), durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_a_message_that_always_fails_is_dead_lettered_with_its_error(bus: Bus) -> None:
    calls: list[int] = []

    async def handle(subject: str, message: Any, msg: Any) -> None:
        calls.append(message["n"])
        if message["n"] == 1:
            raise ValueError("bad data")

    stop, task = await _run(bus, "poison", handle, max_failures=3)
    await _publish(bus, "evt.probe.item", msgspec.json.encode({"n": 1}))
    await _publish(bus, "evt.probe.item", msgspec.json.encode({"n": 2}))
    [dead] = await eventually(lambda: read_stream(bus, streams.DEAD, "dead.evt.probe.>"), what="a dead letter")
    await eventually(lambda: _settled(bus, "poison"), what="nothing left to deliver")
    stop.set()
    await task
    assert dead.subject == "dead.evt.probe.item" and msgspec.json.decode(dead.data) == {"n": 1}
    assert dead.headers["Crier-Error"] == "ValueError('bad data')"
    assert dead.headers["Crier-Failures"] == "3" and dead.headers["Crier-Consumer"] == "poison"
    assert calls.count(1) == 3 and calls.count(2) == 1


async def test_an_outage_is_waited_out_not_counted_as_failures(bus: Bus) -> None:
    calls = 0

    async def handle(subject: str, message: Any, msg: Any) -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise OSError("connection refused")

    with capture_logs() as logs:
        stop, task = await _run(bus, "outage", handle, max_failures=1)
        await _publish(bus, "evt.probe.item", b'{"n": 1}')
        await eventually(lambda: _settled(bus, "outage"), what="the message handled once the outage is over")
        stop.set()
        await task
    assert calls == 3
    assert await read_stream(bus, streams.DEAD) == []
    # Two failed tries, two lines: when the outage began and when it ended, with the count.
    said = [(e["event"], e.get("failures")) for e in logs if e["log_level"] in ("warning", "info", "error")]
    assert said == [("bus.handler.outage_began", None), ("bus.handler.outage_ended", 2)]
    assert not any("exc_info" in e for e in logs)


async def test_an_undecodable_message_is_dead_lettered_at_once(bus: Bus) -> None:
    async def handle(subject: str, message: Any, msg: Any) -> None:
        raise AssertionError("never called")

    stop, task = await _run(bus, "garbage", handle)
    await _publish(bus, "evt.probe.item", b"not json")
    [dead] = await eventually(lambda: read_stream(bus, streams.DEAD, "dead.evt.probe.>"), what="a dead letter")
    stop.set()
    await task
    assert dead.data == b"not json" and dead.headers["Crier-Error"].startswith("undecodable")


async def test_messages_of_one_key_are_handled_in_stream_order_and_keys_side_by_side(bus: Bus) -> None:
    # All published before the consumer starts, so they come in one fetch: the case where order
    # could be lost.
    sent = [("a", n) for n in range(5)] + [("b", n) for n in range(5)]
    sent = [m for pair in zip(sent[:5], sent[5:], strict=True) for m in pair]  # a0 b0 a1 b1 …
    for key, n in sent:
        await _publish(bus, "evt.probe.ordered", msgspec.json.encode({"key": key, "n": n}))
    seen: dict[str, list[int]] = {"a": [], "b": []}
    running: set[str] = set()
    overlapped = asyncio.Event()

    async def handle(subject: str, message: Any, msg: Any) -> None:
        running.add(message["key"])
        if len(running) == 2:
            overlapped.set()
        # Each key's first message waits until the other key's is under way too: handled one
        # message at a time, this would never end; per key in parallel, it does.
        if message["n"] == 0:
            await asyncio.wait_for(overlapped.wait(), timeout=10)
        seen[message["key"]].append(message["n"])
        running.discard(message["key"])

    def key_of(msg: Any) -> str:
        return str(msgspec.json.decode(msg.data)["key"])

    sub = await consumer.bind(bus, stream=streams.EVENTS, durable="ordered", subjects=["evt.probe.ordered"])
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(bus, sub, TYPES, handle, stop, concurrency=4, ordered_by=key_of))
    await eventually(lambda: _settled(bus, "ordered"), what="every message handled")
    stop.set()
    await task
    assert seen == {"a": [0, 1, 2, 3, 4], "b": [0, 1, 2, 3, 4]}


def test_backoff_grows_and_is_capped() -> None:
    delays = [consumer.backoff_s(n) for n in range(1, 12)]
    assert delays[:3] == [0.5, 1.0, 2.0]
    assert delays == sorted(delays) and max(delays) == 30.0


def test_an_outage_sends_messages_away_for_about_as_long_as_it_has_lasted() -> None:
    now = [100.0]
    outage = Outage("probe", clock=lambda: now[0])
    for _ in range(50):  # every message in flight fails at once
        outage.failed(OSError("connection refused"))
    assert consumer.outage_wait_s(outage) == 0.5
    now[0] += 3
    outage.failed(OSError("connection refused"))
    assert consumer.outage_wait_s(outage) == 3.0
    now[0] += 100
    assert consumer.outage_wait_s(outage) == 30.0


def test_by_post_keys_a_message_by_its_post_and_an_undecodable_one_by_nothing() -> None:
    class Msg:
        def __init__(self, data: bytes) -> None:
            self.data = data

    assert consumer.by_post(Msg(b'{"post_id": "p_1", "target_id": "t_1"}')) == "p_1"  # type: ignore[arg-type]
    assert consumer.by_post(Msg(b'{"id": "evt_1"}')) == ""  # type: ignore[arg-type]
    assert consumer.by_post(Msg(b"not json")) == ""  # type: ignore[arg-type]


async def _run_together(bus: Bus, durable: str, handle: Any, together: Any) -> None:
    """Every message published so far handled by a consumer with `handle_together`, then stopped."""

    def key_of(msg: Any) -> str:
        return str(msgspec.json.decode(msg.data)["key"])

    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=durable, subjects=[f"evt.probe.{durable}"])
    stop = asyncio.Event()
    task = asyncio.create_task(
        consumer.run(bus, sub, TYPES, handle, stop, concurrency=4, ordered_by=key_of, handle_together=together)
    )
    await eventually(lambda: _settled(bus, durable), what="every message settled")
    stop.set()
    await task


async def test_one_keys_messages_in_a_fetch_are_handled_together_and_acknowledged(bus: Bus) -> None:
    for n in range(4):  # published before the consumer starts: one fetch holds them all
        await _publish(bus, "evt.probe.together", msgspec.json.encode({"key": "a", "n": n}))
    groups: list[list[int]] = []

    async def one(subject: str, message: Any, msg: Any) -> None:
        raise AssertionError("handled together, never one by one")

    async def together(items: list[tuple[str, Any, Any]]) -> None:
        groups.append([message["n"] for _, message, _ in items])

    await _run_together(bus, "together", one, together)
    assert groups == [[0, 1, 2, 3]]


async def test_when_handling_together_fails_each_message_is_handled_on_its_own(bus: Bus) -> None:
    for n in range(3):
        await _publish(bus, "evt.probe.apart", msgspec.json.encode({"key": "a", "n": n}))
    await _publish(bus, "evt.probe.declined", msgspec.json.encode({"key": "b", "n": 9}))
    await _publish(bus, "evt.probe.declined", msgspec.json.encode({"key": "b", "n": 10}))
    alone: list[int] = []

    async def one(subject: str, message: Any, msg: Any) -> None:
        alone.append(message["n"])

    async def broken(items: list[tuple[str, Any, Any]]) -> None:
        raise RuntimeError("the shared transaction failed")

    async def declines(items: list[tuple[str, Any, Any]]) -> None:
        raise consumer.OneByOne

    await _run_together(bus, "apart", one, broken)
    await _run_together(bus, "declined", one, declines)
    assert alone == [0, 1, 2, 9, 10]  # each once, in stream order
