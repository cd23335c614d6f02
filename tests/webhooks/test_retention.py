"""Retention against the real schema: events older than 30 days go, with their deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from crier.kit.db import create_engine
from crier.webhooks.adapters import events
from crier.webhooks.domain import catalog
from tests.support.stack import Services


async def test_prune_drops_old_events_and_their_deliveries(webhooks_service: Services) -> None:
    engine = create_engine(webhooks_service.database_url, "webhooks", pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("""
                INSERT INTO endpoints (id, org_id, mode, url, events, secret, created_at, updated_at)
                VALUES ('wh_prune', 'org_prune', 'live', 'https://example.com/', ARRAY['*'], 'x', now(), now())
            """)
            )
            old, new = catalog.ping("wh_prune", datetime.now(UTC)), catalog.ping("wh_prune", datetime.now(UTC))
            for event in (old, new):
                await events.append_ping(conn, "org_prune", "live", "wh_prune", event)
            await conn.execute(
                sa.text("UPDATE events SET stored_at = :t WHERE id = :id"),
                {"t": datetime.now(UTC) - timedelta(days=31), "id": old.id},
            )
        async with engine.begin() as conn:
            assert await events.prune(conn) >= 1  # its delivery goes by cascade
            left = (
                (
                    await conn.execute(
                        sa.text(
                            "SELECT e.id FROM events e JOIN deliveries d ON d.event_id = e.id"
                            " WHERE d.endpoint_id = 'wh_prune'"
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert left == [new.id]
    finally:
        await engine.dispose()
