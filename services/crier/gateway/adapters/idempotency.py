"""Idempotency keys: the first request with a key does the work, the repeats get its result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters.tables import idempotency_keys as keys

KEEP = timedelta(hours=24)
# A request that has held its key this long has died (its process crashed before finishing).
ABANDONED = timedelta(minutes=5)
IN_PROGRESS, DONE = "in_progress", "done"


@dataclass(frozen=True)
class Claim:
    won: bool
    request_hash: str
    status: str
    post_id: str | None


async def claim(conn: AsyncConnection, org_id: str, mode: Mode, key: str, request_hash: str) -> Claim:
    """Run in its own transaction, committed before the work starts, so a concurrent repeat sees it."""
    this = sa.and_(keys.c.org_id == org_id, keys.c.mode == mode, keys.c.key == key)
    await conn.execute(
        keys.delete().where(
            this,
            sa.or_(
                keys.c.created_at < sa.func.now() - KEEP,
                sa.and_(keys.c.status == IN_PROGRESS, keys.c.created_at < sa.func.now() - ABANDONED),
            ),
        )
    )
    won = await conn.scalar(
        insert(keys)
        .values(
            org_id=org_id, mode=mode, key=key, request_hash=request_hash, status=IN_PROGRESS, created_at=sa.func.now()
        )
        .on_conflict_do_nothing()
        .returning(keys.c.key)
    )
    if won is not None:
        return Claim(True, request_hash, IN_PROGRESS, None)
    row = (await conn.execute(sa.select(keys).where(this))).one()
    return Claim(False, row.request_hash, row.status, row.post_id)


async def finish(conn: AsyncConnection, org_id: str, mode: Mode, key: str, post_id: str) -> None:
    """Called in the transaction that creates the post: the key and the post commit together."""
    await conn.execute(
        keys.update()
        .where(keys.c.org_id == org_id, keys.c.mode == mode, keys.c.key == key)
        .values(status=DONE, post_id=post_id)
    )


async def release(conn: AsyncConnection, org_id: str, mode: Mode, key: str) -> None:
    """The request failed: forget the key so the caller can fix the request and retry with it."""
    await conn.execute(
        keys.delete().where(
            keys.c.org_id == org_id, keys.c.mode == mode, keys.c.key == key, keys.c.status == IN_PROGRESS
        )
    )


async def purge_expired(conn: AsyncConnection) -> int:
    """Forget keys past their 24 hours: a repeat after that is a new request."""
    result = await conn.execute(keys.delete().where(keys.c.created_at < sa.func.now() - KEEP))
    return int(result.rowcount)
