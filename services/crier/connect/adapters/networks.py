"""The social_networks table: each organization's own (BYOK) platform apps, secrets sealed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters import pages
from crier.connect.adapters.tables import social_networks as t
from crier.contracts.connect import Network


def public(row: Any) -> Network:
    return Network(
        id=row.id,
        platform=row.platform,
        display_name=row.display_name,
        client_id=row.client_id,
        redirect_uri=row.redirect_uri,
        scopes=list(row.scopes),
        instance_url=row.instance_url,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def secret_context(org_id: str, mode: str, platform: str) -> str:
    return f"social_network:{org_id}:{mode}:{platform}:client_secret"


async def upsert(
    conn: AsyncConnection,
    *,
    org_id: str,
    mode: str,
    platform: str,
    display_name: str | None,
    client_id: str,
    client_secret_enc: str,
    redirect_uri: str,
    scopes: list[str],
    instance_url: str | None,
    now: datetime,
) -> tuple[Any, bool]:
    """(row, created): one app per (org, mode, platform), updated in place under the same id."""
    stmt = insert(t).values(
        id=str(uuid.uuid4()),
        org_id=org_id,
        mode=mode,
        platform=platform,
        display_name=display_name,
        client_id=client_id,
        client_secret_enc=client_secret_enc,
        redirect_uri=redirect_uri,
        scopes=scopes,
        instance_url=instance_url,
        created_at=now,
        updated_at=now,
    )
    changes = {
        c: getattr(stmt.excluded, c)
        for c in (
            "display_name",
            "client_id",
            "client_secret_enc",
            "redirect_uri",
            "scopes",
            "instance_url",
            "updated_at",
        )
    }
    stmt = stmt.on_conflict_do_update(constraint="uq_social_networks_app", set_=changes).returning(
        *t.c, (sa.literal_column("xmax") == 0).label("inserted")
    )
    row = (await conn.execute(stmt)).one()
    return row, bool(row.inserted)


async def get(conn: AsyncConnection, org_id: str, mode: str, network_id: str) -> Any | None:
    query = sa.select(t).where(t.c.id == network_id, t.c.org_id == org_id, t.c.mode == mode)
    return (await conn.execute(query)).first()


async def for_platform(conn: AsyncConnection, org_id: str, mode: str, platform: str) -> Any | None:
    query = sa.select(t).where(t.c.org_id == org_id, t.c.mode == mode, t.c.platform == platform)
    return (await conn.execute(query)).first()


async def page(
    conn: AsyncConnection, org_id: str, mode: str, *, limit: int, cursor: str | None
) -> tuple[list[Network], str | None]:
    query = (
        sa.select(t)
        .where(t.c.org_id == org_id, t.c.mode == mode, *pages.after(t, cursor))
        .order_by(*pages.newest_first(t))
        .limit(limit + 1)
    )
    rows, next_cursor = pages.split((await conn.execute(query)).all(), limit)
    return [public(r) for r in rows], next_cursor


async def delete(conn: AsyncConnection, org_id: str, mode: str, network_id: str) -> bool:
    stmt = t.delete().where(t.c.id == network_id, t.c.org_id == org_id, t.c.mode == mode)
    return (await conn.execute(stmt)).rowcount > 0
