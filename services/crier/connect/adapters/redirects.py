"""The redirect_uris table: where a connect flow may send the user's browser back to."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import redirect_uris as t
from crier.contracts.common import Mode
from crier.contracts.connect import RedirectUri


def public(row: Any) -> RedirectUri:
    return RedirectUri(id=row.id, uri=row.uri, created_at=row.created_at)


async def add(conn: AsyncConnection, org_id: str, mode: Mode, uri: str, now: datetime) -> RedirectUri:
    """The new entry; adding an allowlisted URI again returns the existing one."""
    stmt = (
        insert(t)
        .values(id=str(uuid.uuid4()), org_id=org_id, mode=mode, uri=uri, created_at=now)
        .on_conflict_do_nothing(constraint="uq_redirect_uris")
        .returning(*t.c)
    )
    row = (await conn.execute(stmt)).first()
    if row is not None:
        return public(row)
    query = sa.select(t).where(t.c.org_id == org_id, t.c.mode == mode, t.c.uri == uri)
    return public((await conn.execute(query)).one())


async def all_of(conn: AsyncConnection, org_id: str, mode: Mode) -> list[RedirectUri]:
    query = sa.select(t).where(t.c.org_id == org_id, t.c.mode == mode).order_by(t.c.created_at, t.c.id)
    return [public(r) for r in await conn.execute(query)]


async def delete(conn: AsyncConnection, org_id: str, mode: Mode, entry_id: str) -> bool:
    stmt = t.delete().where(t.c.id == entry_id, t.c.org_id == org_id, t.c.mode == mode)
    return (await conn.execute(stmt)).rowcount > 0


async def allowed(conn: AsyncConnection, org_id: str, mode: Mode, uri: str) -> bool:
    """Exact, byte-for-byte match: no prefix, host or pattern matching, so no open redirect."""
    query = sa.select(sa.literal(True)).where(t.c.org_id == org_id, t.c.mode == mode, t.c.uri == uri)
    return bool(await conn.scalar(query))
