"""The social_networks table: each organization's own (BYOK) platform apps, secrets sealed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import social_networks as t
from crier.contracts.common import Mode, Platform
from crier.contracts.connect import Network
from crier.kit.pages import Page, after_cursor, newest_first, page_of


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


async def upsert(
    conn: AsyncConnection,
    *,
    org_id: str,
    mode: Mode,
    platform: Platform,
    display_name: str | None,
    client_id: str,
    client_secret_enc: str,
    redirect_uri: str,
    scopes: list[str],
    instance_url: str | None,
    now: datetime,
) -> Any:
    """One app per (org, mode, platform, instance), updated in place under the same id."""
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
    # The unique index uq_social_networks_app is on these, instance_url NULL counting as one value.
    # The '' is spelled out, not bound: Postgres matches the index by the expression, and a generic
    # plan of a prepared statement (from its sixth run on) would see a parameter instead of ''.
    key = [t.c.org_id, t.c.mode, t.c.platform, sa.func.coalesce(t.c.instance_url, sa.literal_column("''"))]
    insert_or_update = stmt.on_conflict_do_update(index_elements=key, set_=changes).returning(*t.c)
    return (await conn.execute(insert_or_update)).one()


async def get(conn: AsyncConnection, org_id: str, mode: Mode, network_id: str) -> Any | None:
    query = sa.select(t).where(t.c.id == network_id, t.c.org_id == org_id, t.c.mode == mode)
    return (await conn.execute(query)).first()


async def of_platform(conn: AsyncConnection, org_id: str, mode: Mode, platform: Platform) -> list[Any]:
    """The org's apps for `platform`: one, or one per instance for per-instance platforms."""
    query = (
        sa.select(t)
        .where(t.c.org_id == org_id, t.c.mode == mode, t.c.platform == platform)
        .order_by(t.c.created_at, t.c.id)
    )
    return list((await conn.execute(query)).all())


async def page(conn: AsyncConnection, org_id: str, mode: Mode, *, limit: int, cursor: str | None) -> Page[Network]:
    query = (
        sa.select(t)
        .where(t.c.org_id == org_id, t.c.mode == mode, *after_cursor(t, cursor))
        .order_by(*newest_first(t))
        .limit(limit + 1)
    )
    page = page_of(list((await conn.execute(query)).all()), limit)
    return Page([public(r) for r in page.rows], page.next_cursor)


async def delete(conn: AsyncConnection, org_id: str, mode: Mode, network_id: str) -> bool:
    stmt = t.delete().where(t.c.id == network_id, t.c.org_id == org_id, t.c.mode == mode)
    return (await conn.execute(stmt)).rowcount > 0
