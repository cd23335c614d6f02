"""The end_users table: the customer's own users, keyed by their id (the accounts' tenant_id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import end_users as t
from crier.connect.adapters.tables import social_accounts as accounts
from crier.connect.domain.accounts import ACTIVE
from crier.contracts.common import Mode


async def upsert(
    conn: AsyncConnection,
    *,
    org_id: str,
    mode: Mode,
    external_user_id: str,
    display_name: str | None,
    email: str | None,
    metadata: dict[str, Any],
    now: datetime,
) -> Any:
    stmt = insert(t).values(
        org_id=org_id,
        mode=mode,
        external_user_id=external_user_id,
        display_name=display_name,
        email=email,
        metadata=metadata,
        created_at=now,
        updated_at=now,
    )
    insert_or_update = stmt.on_conflict_do_update(
        index_elements=[t.c.org_id, t.c.mode, t.c.external_user_id],
        set_={
            "display_name": stmt.excluded.display_name,
            "email": stmt.excluded.email,
            "metadata": stmt.excluded.metadata,
            "updated_at": stmt.excluded.updated_at,
        },
    ).returning(*t.c)
    return (await conn.execute(insert_or_update)).one()


async def ensure(conn: AsyncConnection, org_id: str, mode: Mode, external_user_id: str, now: datetime) -> None:
    """An account connected for a tenant makes that tenant a known end-user."""
    await conn.execute(
        insert(t)
        .values(
            org_id=org_id, mode=mode, external_user_id=external_user_id, metadata={}, created_at=now, updated_at=now
        )
        .on_conflict_do_nothing()
    )


async def get(conn: AsyncConnection, org_id: str, mode: Mode, external_user_id: str) -> Any | None:
    query = sa.select(t).where(t.c.org_id == org_id, t.c.mode == mode, t.c.external_user_id == external_user_id)
    return (await conn.execute(query)).first()


async def summary(conn: AsyncConnection, org_id: str, mode: Mode, external_user_id: str) -> tuple[int, int]:
    """(total, connected) among the user's visible accounts; the rest need the user to reconnect."""
    query = sa.select(sa.func.count(), sa.func.count().filter(accounts.c.status == ACTIVE)).where(
        accounts.c.org_id == org_id,
        accounts.c.mode == mode,
        accounts.c.tenant_id == external_user_id,
        accounts.c.deleted_at.is_(None),
    )
    total, connected = (await conn.execute(query)).one()
    return int(total), int(connected)
