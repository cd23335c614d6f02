"""Where the hosted connect pages' looks are kept: an organization's default per mode, and the
display each session was created with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.gateway.adapters.tables import connect_session_displays as sessions
from crier.gateway.adapters.tables import org_settings


async def org_default(conn: AsyncConnection, org_id: str, mode: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            sa.select(org_settings.c.connect_display).where(
                org_settings.c.org_id == org_id, org_settings.c.mode == mode
            )
        )
    ).first()
    return row.connect_display if row else None


async def set_org_default(
    conn: AsyncConnection, org_id: str, mode: str, display: dict[str, Any] | None, now: datetime
) -> None:
    statement = insert(org_settings).values(org_id=org_id, mode=mode, connect_display=display, updated_at=now)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[org_settings.c.org_id, org_settings.c.mode],
            set_={"connect_display": statement.excluded.connect_display, "updated_at": now},
        )
    )


async def keep_for_session(
    conn: AsyncConnection, session_id: str, org_id: str, mode: str, display: dict[str, Any], expires_at: datetime
) -> None:
    await conn.execute(
        insert(sessions)
        .values(session_id=session_id, org_id=org_id, mode=mode, display=display, expires_at=expires_at)
        .on_conflict_do_nothing()
    )


async def of_session(conn: AsyncConnection, session_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(sessions.c.display).where(sessions.c.session_id == session_id))).first()
    return row.display if row else None


async def forget_before(conn: AsyncConnection, cutoff: datetime) -> int:
    result = await conn.execute(sessions.delete().where(sessions.c.expires_at < cutoff))
    return result.rowcount


async def session_row(conn: AsyncConnection, session_id: str) -> Any | None:
    """The kept display with whose session it is (organization and mode)."""
    return (await conn.execute(sa.select(sessions).where(sessions.c.session_id == session_id))).first()
