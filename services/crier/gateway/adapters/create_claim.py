"""The first statement of a create with an Idempotency-Key, in one round trip: which post already
holds the request's external_ref, and the key claimed as done with the post it answers with (that
post, or the new one's id). See `idempotency.claim_done` for why claiming it as done is safe."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters import idempotency
from crier.gateway.adapters.tables import posts

_REF_HOLDER = (
    sa.select(posts.c.id)
    .where(
        posts.c.org_id == sa.bindparam("org_id"),
        posts.c.mode == sa.bindparam("mode"),
        posts.c.external_ref == sa.bindparam("external_ref"),
        posts.c.canceled_at.is_(None),
    )
    .scalar_subquery()
)
_CLAIM = idempotency.taking(idempotency.DONE, sa.func.coalesce(_REF_HOLDER, sa.bindparam("post_id"))).cte("claim")
_STATEMENT = sa.select(_REF_HOLDER.label("ref_holder"), sa.select(_CLAIM.c.key).scalar_subquery().label("claimed"))


async def claim(
    conn: AsyncConnection,
    org_id: str,
    mode: Mode,
    *,
    key: str,
    request_hash: str,
    external_ref: str | None,
    post_id: str,
) -> tuple[str | None, idempotency.Claim]:
    """The id of the post holding `external_ref` (None when none does), and the claim on `key`."""
    hold = idempotency.Hold(org_id, mode, key, uuid.uuid4().hex)
    values: dict[str, Any] = {
        "org_id": org_id,
        "mode": mode,
        "key": key,
        "request_hash": request_hash,
        "holder": hold.holder,
        "external_ref": external_ref,
        "post_id": post_id,
    }
    row = (await conn.execute(_STATEMENT, values)).one()
    if row.claimed is not None:
        return row.ref_holder, idempotency.Claim(True, request_hash, idempotency.DONE, None, hold)
    lost = await idempotency.held_by_another(conn, hold)
    if lost is None:  # released between the two statements: claim it the long way
        lost = await idempotency.claim_done(conn, org_id, mode, key, request_hash, row.ref_holder or post_id)
    return row.ref_holder, lost
