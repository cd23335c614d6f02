"""The outbox's backlog as a scrape reports it: rows not yet sent and the age of the oldest, against
real PostgreSQL and NATS JetStream."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.events import PostCanceled
from crier.kit.bus import Bus, outbox
from crier.kit.bus.outbox import OutboxMessage, OutboxRelay, watch_outbox
from crier.kit.db import create_engine
from crier.kit.metrics import Metrics
from tests.support.stack import Infra


@pytest.fixture
async def relay(infra: Infra) -> AsyncIterator[tuple[OutboxRelay, AsyncEngine]]:
    url = await asyncio.to_thread(infra.create_database)
    engine = create_engine(url, "backlogtest")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE SCHEMA backlogtest"))
        await conn.execute(
            sa.text(
                "CREATE TABLE backlogtest.outbox (seq bigint generated always as identity primary key,"
                " msg_id text not null, subject text not null, payload bytea not null,"
                " headers text not null default '{}', created_at timestamptz not null default now())"
            )
        )
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    await bus.ensure_streams()
    yield OutboxRelay(engine, bus, lock_name="outbox:backlogtest"), engine
    await bus.close()
    await engine.dispose()


def _scraped(text: str) -> dict[str, float]:
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("crier_outbox_")
    }


def _event() -> PostCanceled:
    return PostCanceled(
        id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), org_id="o", mode="live", post_id="p", target_ids=[]
    )


async def test_the_backlog_and_its_age_until_the_relay_sends_it(relay: tuple[OutboxRelay, AsyncEngine]) -> None:
    outbox_relay, engine = relay
    metrics = Metrics("gateway")
    watch_outbox(metrics, outbox_relay)
    empty = _scraped((await metrics.exposition()).decode())
    assert empty == {"crier_outbox_backlog_messages": 0.0, "crier_outbox_relay_lag_seconds": 0.0}

    async with engine.begin() as conn:
        await outbox.write(conn, [OutboxMessage(subject="evt.post.canceled", message=_event()) for _ in range(3)])
        # Written as if an hour ago: the age is the database's, whatever the test's clock.
        await conn.execute(sa.text("UPDATE outbox SET created_at = now() - interval '1 hour'"))
    waiting = _scraped((await metrics.exposition()).decode())
    assert waiting["crier_outbox_backlog_messages"] == 3.0
    assert 3600.0 <= waiting["crier_outbox_relay_lag_seconds"] < 7200.0

    assert await outbox_relay.flush_once() == 3
    sent = _scraped((await metrics.exposition()).decode())
    assert sent == {"crier_outbox_backlog_messages": 0.0, "crier_outbox_relay_lag_seconds": 0.0}
