"""The outbox relay against real PostgreSQL and NATS JetStream."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import nats.errors
import pytest
import sqlalchemy as sa

from crier.contracts.events import PostCanceled
from crier.kit.bus import Bus, outbox, streams
from crier.kit.bus.outbox import OutboxMessage, OutboxRelay
from crier.kit.db import create_engine
from crier.kit.kept_connections import KeptConnections
from tests.support.bus import eventually
from tests.support.stack import Infra


@pytest.fixture
async def env(infra: Infra) -> AsyncIterator[tuple[Bus, object]]:
    url = await asyncio.to_thread(infra.create_database)
    engine = create_engine(url, "relaytest")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE SCHEMA relaytest"))
        await conn.execute(
            sa.text(
                "CREATE TABLE relaytest.outbox (seq bigint generated always as identity primary key,"
                " msg_id text not null, subject text not null, payload bytea not null,"
                " headers text not null default '{}', created_at timestamptz not null default now())"
            )
        )
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    await bus.ensure_streams()
    yield bus, engine
    await bus.close()
    await engine.dispose()


def _event(n: int) -> PostCanceled:
    return PostCanceled(
        id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), org_id="o", mode="live", post_id=f"p{n}", target_ids=[]
    )


async def test_relay_publishes_in_order_once_and_empties_the_outbox(env) -> None:  # type: ignore[no-untyped-def]
    bus, engine = env
    events = [_event(i) for i in range(50)]
    async with engine.begin() as conn:
        await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=e) for e in events])
        # A replayed row (same msg id) models a relay that crashed after publishing, before deleting.
        await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=events[0])])
    relay = OutboxRelay(engine, bus, lock_name="outbox:relaytest")
    assert await relay.flush_once() == 51
    assert await relay.flush_once() == 0
    info = await bus.js.stream_info(bus.stream(streams.EVENTS))
    assert info.state.messages == 50
    sub = await bus.js.subscribe(bus.subject("evt.post.canceled"), ordered_consumer=True)
    seen = [msgspec.json.decode((await sub.next_msg(timeout=5)).data, type=PostCanceled).post_id for _ in range(50)]
    assert seen == [f"p{i}" for i in range(50)]
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM relaytest.outbox")) == 0


async def test_relay_keeps_rows_when_the_bus_is_unreachable(env) -> None:  # type: ignore[no-untyped-def]
    bus, engine = env
    async with engine.begin() as conn:
        await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=_event(1))])
    await bus.close()
    relay = OutboxRelay(engine, bus, lock_name="outbox:relaytest")
    with pytest.raises(nats.errors.ConnectionClosedError):
        await relay.flush_once()
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM relaytest.outbox")) == 1


async def test_a_row_committed_during_a_flush_is_not_lost(env) -> None:  # type: ignore[no-untyped-def]
    """A writer that took a lower seq but commits after the relay's SELECT must still be sent."""
    bus, engine = env
    slow = await engine.connect()
    slow_tx = await slow.begin()
    late = _event(1)
    # Takes the lower seq, and does not commit yet.
    await outbox.write(slow, [OutboxMessage(subject="evt.post.canceled", message=late)])
    async with engine.begin() as conn:
        await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=_event(2))])
    relay = OutboxRelay(engine, bus, lock_name="outbox:relaytest")
    real_publish = bus.js.publish_async

    async def publish_then_commit_the_slow_writer(*args, **kwargs):  # type: ignore[no-untyped-def]
        if slow_tx.is_active:
            await slow_tx.commit()
        return await real_publish(*args, **kwargs)

    bus.js.publish_async = publish_then_commit_the_slow_writer
    try:
        assert await relay.flush_once() == 1
    finally:
        bus.js.publish_async = real_publish
        await slow.close()
    assert await relay.flush_once() == 1
    info = await bus.js.stream_info(bus.stream(streams.EVENTS))
    assert info.state.messages == 2


async def test_a_relay_locked_out_by_another_replica_looks_again_once_it_is_free(env) -> None:  # type: ignore[no-untyped-def]
    """Woken while another replica's relay holds the lock, the relay must not wait for its idle poll
    (an hour here): it looks again, and sends its row once the lock is free."""
    bus, engine = env
    relay = _Watched(engine, bus, lock_name="outbox:relaytest")
    other = await engine.connect()
    other_tx = await other.begin()
    await other.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('outbox:relaytest'))"))
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, idle_poll_s=3600))
    try:
        async with engine.begin() as conn:
            await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=_event(7))])
        relay.wake()
        await asyncio.wait_for(relay.locked_out.wait(), timeout=20)
        await other_tx.commit()
        await eventually(lambda: _stream_holds(bus, 1), what="the row sent once the lock was free")
    finally:
        stop.set()
        await running
        await other.close()


async def test_a_relay_sends_what_commits_while_it_flushes(env) -> None:  # type: ignore[no-untyped-def]
    """No look-again after a flush: a commit during the flush wakes the relay, so its row goes out
    without waiting for the idle poll (an hour here)."""
    bus, engine = env
    relay = OutboxRelay(engine, bus, lock_name="outbox:relaytest")
    real_publish = bus.js.publish_async
    written = asyncio.Event()

    async def publish_while_another_commits(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not written.is_set():
            written.set()
            async with engine.begin() as conn:
                await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=_event(9))])
            relay.wake()
        return await real_publish(*args, **kwargs)

    async with engine.begin() as conn:
        await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=_event(8))])
    bus.js.publish_async = publish_while_another_commits
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, idle_poll_s=3600))
    try:
        await eventually(lambda: _stream_holds(bus, 2), what="both rows sent")
    finally:
        stop.set()
        await running
        bus.js.publish_async = real_publish


class _Watched(OutboxRelay):
    """Tells when a flush found the lock taken."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.locked_out = asyncio.Event()

    async def _flush(self, kept: KeptConnections) -> int | None:
        sent = await super()._flush(kept)
        if sent is None:
            self.locked_out.set()
        return sent


async def _stream_holds(bus: Bus, n: int) -> bool:
    info = await bus.js.stream_info(bus.stream(streams.EVENTS))
    return info.state.messages >= n


async def test_two_replicas_relays_send_each_row_once_and_in_order(env) -> None:  # type: ignore[no-untyped-def]
    """Replicas' relays flushing side by side: the lock lets one at a time through, and a relay whose
    read predates the other's commit does not send what that one sent."""
    bus, engine = env
    events = [_event(i) for i in range(200)]
    async with engine.begin() as conn:
        await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=e) for e in events])
    sent: list[str] = []
    real_publish = bus.js.publish_async

    async def counted(subject, payload, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(msgspec.json.decode(payload, type=PostCanceled).post_id)
        return await real_publish(subject, payload, **kwargs)

    bus.js.publish_async = counted
    relays = [OutboxRelay(engine, bus, lock_name="outbox:relaytest", batch=7) for _ in range(2)]

    async def drain(relay: OutboxRelay) -> None:
        for _ in range(500):
            await relay.flush_once()
            async with engine.connect() as conn:
                if not await conn.scalar(sa.text("SELECT count(*) FROM relaytest.outbox")):
                    return

    try:
        await asyncio.gather(*(drain(r) for r in relays))
    finally:
        bus.js.publish_async = real_publish
    assert sent == [f"p{i}" for i in range(200)]
