"""The endpoints table. Every query is scoped by organization and mode."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.webhooks import Endpoint
from crier.kit.pages import Page, after_cursor, newest_first, page_of
from crier.webhooks.adapters.tables import endpoints

# The reason an endpoint turned off by its owner carries; any other is the dispatcher's.
DISABLED_BY_USER = "disabled by the user"
_PUBLIC = (
    endpoints.c.id,
    endpoints.c.url,
    endpoints.c.events,
    endpoints.c.description,
    endpoints.c.is_active,
    endpoints.c.disabled_reason,
    endpoints.c.created_at,
    endpoints.c.updated_at,
)


def to_endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        url=row.url,
        events=list(row.events),
        description=row.description,
        is_active=row.is_active,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _mine(org_id: str, mode: str, endpoint_id: str) -> tuple[Any, ...]:
    return (endpoints.c.id == endpoint_id, endpoints.c.org_id == org_id, endpoints.c.mode == mode)


async def insert(
    conn: AsyncConnection,
    *,
    endpoint_id: str,
    org_id: str,
    mode: str,
    url: str,
    events: list[str],
    description: str,
    secret_ciphertext: str,
) -> Any:
    stmt = (
        sa.insert(endpoints)
        .values(
            id=endpoint_id,
            org_id=org_id,
            mode=mode,
            url=url,
            events=events,
            description=description,
            secret=secret_ciphertext,
            created_at=sa.func.now(),
            updated_at=sa.func.now(),
        )
        .returning(*_PUBLIC)
    )
    return (await conn.execute(stmt)).one()


async def get(conn: AsyncConnection, org_id: str, mode: str, endpoint_id: str) -> Any | None:
    return (await conn.execute(sa.select(*_PUBLIC).where(*_mine(org_id, mode, endpoint_id)))).first()


async def page(conn: AsyncConnection, org_id: str, mode: str, cursor: str | None, limit: int) -> Page[Any]:
    """Newest first, `limit` rows after `cursor`."""
    stmt = (
        sa.select(*_PUBLIC)
        .where(endpoints.c.org_id == org_id, endpoints.c.mode == mode, *after_cursor(endpoints, cursor))
        .order_by(*newest_first(endpoints))
        .limit(limit + 1)
    )
    return page_of(list((await conn.execute(stmt)).all()), limit)


async def update(
    conn: AsyncConnection,
    org_id: str,
    mode: str,
    endpoint_id: str,
    *,
    url: str | None,
    events: list[str] | None,
    description: str | None,
    is_active: bool | None,
) -> Any | None:
    """Only the fields given change; turning an endpoint back on forgets why it was off and its
    failure streak."""
    given = {"url": url, "events": events, "description": description, "is_active": is_active}
    values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if is_active is not None:
        values["disabled_reason"] = None if is_active else DISABLED_BY_USER
    if is_active:
        values["failing_since"] = None
    stmt = (
        sa.update(endpoints)
        .where(*_mine(org_id, mode, endpoint_id))
        .values(**values, updated_at=sa.func.now())
        .returning(*_PUBLIC)
    )
    return (await conn.execute(stmt)).first()


async def delete(conn: AsyncConnection, org_id: str, mode: str, endpoint_id: str) -> bool:
    stmt = sa.delete(endpoints).where(*_mine(org_id, mode, endpoint_id)).returning(endpoints.c.id)
    return (await conn.execute(stmt)).first() is not None


async def rotate_secret(
    conn: AsyncConnection, org_id: str, mode: str, endpoint_id: str, secret_ciphertext: str, overlap: timedelta
) -> datetime | None:
    """The new secret signs from now on; the old one keeps signing beside it for `overlap`."""
    stmt = (
        sa.update(endpoints)
        .where(*_mine(org_id, mode, endpoint_id))
        .values(
            previous_secret=endpoints.c.secret,
            secret=secret_ciphertext,
            previous_secret_expires_at=sa.func.now() + overlap,
            updated_at=sa.func.now(),
        )
        .returning(endpoints.c.previous_secret_expires_at)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def count_disabled(conn: AsyncConnection) -> int:
    """Endpoints the dispatcher disabled after failing too long (not those their owners turned off),
    across every organization."""
    stmt = (
        sa.select(sa.func.count())
        .select_from(endpoints)
        .where(sa.not_(endpoints.c.is_active), endpoints.c.disabled_reason != DISABLED_BY_USER)
    )
    return int((await conn.execute(stmt)).scalar_one())
