"""Import jobs in connect's database: one queued or running import per account, however many
imports the same pooled connection has started before (its insert is a prepared statement that
PostgreSQL plans generically from the sixth run on)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from crier.connect.adapters import imports
from crier.kit.db import create_engine


def _job(account_id: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": f"imp_{secrets.token_hex(8)}",
        "org_id": "org_jobs",
        "mode": "live",
        "account_id": account_id,
        "platform": "mastodon",
        "status": "queued",
        "created_at": now,
        "updated_at": now,
    }


async def test_one_active_import_per_account_on_a_connection_that_started_many(connect_db: str) -> None:
    engine = create_engine(connect_db, "connect", pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            accounts = [f"acc_{secrets.token_hex(6)}" for _ in range(8)]
            for account_id in accounts:
                assert await imports.create(conn, _job(account_id)) is not None
                assert await imports.create(conn, _job(account_id)) is None
            await imports.update(
                conn,
                (await imports.active_for(conn, accounts[0])).id,
                datetime.now(UTC),
                final=True,
                status="completed",
            )
            assert await imports.create(conn, _job(accounts[0])) is not None
    finally:
        await engine.dispose()
