"""Readings of published targets' engagement (migration 0007): the analytics cache, and the
periodic captures of a post's first days (one per target and period: `slot`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import TS, metadata

post_engagement = sa.Table(
    "post_engagement",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("platform_post_id", sa.Text, nullable=False),
    sa.Column("likes", sa.BigInteger),
    sa.Column("reposts", sa.BigInteger),
    sa.Column("replies", sa.BigInteger),
    sa.Column("impressions", sa.BigInteger),
    sa.Column("raw", JSONB, nullable=False),
    sa.Column("slot", sa.BigInteger),
    sa.Column("captured_at", TS, nullable=False),
)
e = post_engagement
COUNTS = ("likes", "reposts", "replies", "impressions")


async def latest(conn: AsyncConnection, org_id: str, mode: str, target_ids: Iterable[str]) -> dict[str, Any]:
    """Each target's latest reading (within the organization), by target id."""
    ids = list(target_ids)
    if not ids:
        return {}
    query = (
        sa.select(e)
        .where(e.c.org_id == org_id, e.c.mode == mode, e.c.target_id.in_(ids))
        .order_by(e.c.target_id, e.c.captured_at.desc(), e.c.id.desc())
        .ext(distinct_on(e.c.target_id))
    )
    return {row.target_id: row for row in (await conn.execute(query)).all()}


async def captured_in(conn: AsyncConnection, target_ids: Iterable[str], slot: int) -> set[str]:
    query = sa.select(e.c.target_id).where(e.c.target_id.in_(list(target_ids)), e.c.slot == slot)
    return set((await conn.execute(query)).scalars())


async def store(conn: AsyncConnection, reading: Mapping[str, Any], *, slot: int | None) -> bool:
    """Keep a reading; False when the period's capture of the target was already stored (a
    concurrent sweep's)."""
    stmt = pg_insert(e).values(id=str(uuid.uuid4()), slot=slot, **reading)
    if slot is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[e.c.target_id, e.c.slot], index_where=e.c.slot.is_not(None))
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def forget_before(conn: AsyncConnection, cutoff: datetime, *, limit: int) -> int:
    doomed = sa.select(e.c.id).where(e.c.captured_at < cutoff).limit(limit).scalar_subquery()
    return int((await conn.execute(e.delete().where(e.c.id.in_(doomed)))).rowcount or 0)
