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
