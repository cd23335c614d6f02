"""Organizations and their API keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters.tables import api_keys, orgs
from crier.gateway.domain import api_key
from crier.gateway.domain.api_key import Principal


async def create_org(conn: AsyncConnection, name: str) -> dict[str, Any]:
    row = {"id": str(uuid.uuid4()), "name": name, "created_at": datetime.now(UTC)}
    await conn.execute(orgs.insert().values(row))
    return row


async def find_org(conn: AsyncConnection, id_or_name: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(sa.select(orgs).where(sa.or_(orgs.c.id == id_or_name, orgs.c.name == id_or_name)))
    ).first()
    return dict(row._mapping) if row else None


async def oldest_org(conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(orgs).order_by(orgs.c.created_at, orgs.c.id).limit(1))).first()
    return dict(row._mapping) if row else None


async def create_key(
    conn: AsyncConnection, org_id: str, *, name: str, mode: Mode, scopes: list[str]
) -> tuple[dict[str, Any], str]:
    """The stored key and its secret; the secret exists only in this return value."""
    fresh = api_key.new_secret(mode)
    row = {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "name": name,
        "mode": mode,
        "scopes": list(scopes),
        "prefix": fresh.prefix,
        "key_hash": fresh.digest,
        "created_at": datetime.now(UTC),
        "revoked_at": None,
    }
    await conn.execute(api_keys.insert().values(row))
    return row, fresh.secret


# Built once: every authenticated request runs it.
_BY_HASH = sa.select(api_keys.c.id, api_keys.c.org_id, api_keys.c.mode, api_keys.c.scopes).where(
    api_keys.c.key_hash == sa.bindparam("key_hash"), api_keys.c.revoked_at.is_(None)
)


async def authenticate(conn: AsyncConnection, secret: str) -> Principal | None:
    if not api_key.looks_like_key(secret):
        return None
    row = (await conn.execute(_BY_HASH, {"key_hash": api_key.digest(secret)})).first()
    if row is None:
        return None
    return Principal(org_id=row.org_id, mode=row.mode, key_id=row.id, scopes=frozenset(row.scopes))


async def list_keys(conn: AsyncConnection, org_id: str, modes: tuple[Mode, ...]) -> list[Any]:
    return list(
        await conn.execute(
            sa.select(api_keys)
            .where(api_keys.c.org_id == org_id, api_keys.c.mode.in_(modes))
            .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
        )
    )


async def revoke_key(conn: AsyncConnection, org_id: str, modes: tuple[Mode, ...], key_id: str) -> bool:
    """True when the key exists in this org and one of `modes` (revoking twice is not an error)."""
    result = await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.org_id == org_id, api_keys.c.mode.in_(modes))
        .values(revoked_at=sa.func.coalesce(api_keys.c.revoked_at, sa.func.now()))
    )
    return result.rowcount > 0
