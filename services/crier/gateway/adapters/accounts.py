"""The local read model of social accounts, fed by connect's events and sandbox replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import AccountLimits, Mode, Platform
from crier.gateway.adapters.tables import accounts
from crier.gateway.domain.filters import AccountFilter
from crier.kit import pages

ACTIVE = "active"
# Soft-deleted accounts stay in the table (so a late, older event cannot resurrect them) but are hidden.
DISABLED = "disabled"


async def upsert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Insert or replace an account, unless what we hold is newer than `row`."""
    stmt = insert(accounts).values(row)
    changes = {k: getattr(stmt.excluded, k) for k in row if k not in ("id", "created_at")}
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[accounts.c.id], set_=changes, where=accounts.c.updated_at <= stmt.excluded.updated_at
        )
    )


async def set_status(
    conn: AsyncConnection,
    *,
    account_id: str,
    org_id: str,
    mode: Mode,
    platform: Platform,
    tenant_id: str | None,
    status: str,
    updated_at: datetime,
) -> None:
    """Record a status change; an account we never saw gets a placeholder row so the newer state sticks."""
    placeholder = {
        "id": account_id,
        "org_id": org_id,
        "mode": mode,
        "platform": platform,
        "username": "",
        "display_name": None,
        "network_unique_id": "",
        "tenant_id": tenant_id,
        "account_type": "account",
        "status": status,
        "sandbox": mode == "test",
        "created_at": updated_at,
        "updated_at": updated_at,
    }
    await conn.execute(insert(accounts).values(placeholder).on_conflict_do_nothing())
    await conn.execute(
        accounts.update()
        .where(accounts.c.id == account_id, accounts.c.updated_at <= updated_at)
        .values(status=status, updated_at=updated_at)
    )


async def set_limits(conn: AsyncConnection, account_id: str, limits: AccountLimits, updated_at: datetime) -> None:
    """Record what the account may post, unless what we hold is newer. An account not held yet is
    left alone: the account.connected event that connect sent before this one brings it."""
    await conn.execute(
        accounts.update()
        .where(accounts.c.id == account_id, accounts.c.updated_at <= updated_at)
        .values(max_characters=limits.max_characters, updated_at=updated_at)
    )


def limits_of(row: Any) -> AccountLimits:
    return AccountLimits(max_characters=row.max_characters)


# Built once: on the create-post path, so it should not be rebuilt and re-keyed per request.
_USABLE = sa.select(accounts).where(
    accounts.c.id.in_(sa.bindparam("ids", expanding=True)),
    accounts.c.org_id == sa.bindparam("org_id"),
    accounts.c.mode == sa.bindparam("mode"),
    accounts.c.status == ACTIVE,
)


async def usable(conn: AsyncConnection, org_id: str, mode: Mode, ids: list[str]) -> dict[str, Any]:
    """The accounts among `ids` that a new post may target, by id."""
    rows = await conn.execute(_USABLE, {"ids": ids, "org_id": org_id, "mode": mode})
    return {r.id: r for r in rows}


async def get(conn: AsyncConnection, org_id: str, mode: Mode, account_id: str) -> Any | None:
    return (
        await conn.execute(
            sa.select(accounts).where(
                accounts.c.id == account_id,
                accounts.c.org_id == org_id,
                accounts.c.mode == mode,
                accounts.c.status != DISABLED,
            )
        )
    ).first()


async def search(
    conn: AsyncConnection, org_id: str, mode: Mode, where: AccountFilter, *, limit: int, cursor: str | None
) -> pages.Page[Any]:
    conditions: list[Any] = [
        accounts.c.org_id == org_id,
        accounts.c.mode == mode,
        accounts.c.status != DISABLED,
        *pages.after_cursor(accounts, cursor),
    ]
    for name in ("id", "tenant_id", "platform", "username", "network_unique_id"):
        value = getattr(where, name)
        if value is not None:
            conditions.append(accounts.c[name] == value)
    rows = (
        await conn.execute(
            sa.select(accounts).where(*conditions).order_by(*pages.newest_first(accounts)).limit(limit + 1)
        )
    ).all()
    return pages.page_of(rows, limit)
