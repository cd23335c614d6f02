"""The endpoints table. Every query is scoped by organization and mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.webhooks import Endpoint

_PUBLIC = "id, seq, url, events, description, is_active, disabled_reason, created_at, updated_at"

_INSERT = sa.text(f"""
    INSERT INTO endpoints (id, org_id, mode, url, events, description, secret, created_at, updated_at)
    VALUES (:id, :org_id, :mode, :url, :events, :description, :secret, now(), now())
    RETURNING {_PUBLIC}
""")
_GET = sa.text(f"SELECT {_PUBLIC} FROM endpoints WHERE id = :id AND org_id = :org_id AND mode = :mode")
_PAGE = sa.text(f"""
    SELECT {_PUBLIC} FROM endpoints
    WHERE org_id = :org_id AND mode = :mode AND (CAST(:before AS bigint) IS NULL OR seq < :before)
    ORDER BY seq DESC LIMIT :n
""")
_UPDATE = sa.text(f"""
    UPDATE endpoints SET
        url = coalesce(:url, url),
        events = coalesce(:events, events),
        description = coalesce(:description, description),
        is_active = coalesce(:is_active, is_active),
        disabled_reason = CASE WHEN :is_active IS NULL THEN disabled_reason
                               WHEN CAST(:is_active AS boolean) THEN NULL ELSE 'disabled by the user' END,
        failing_since = CASE WHEN CAST(:is_active AS boolean) THEN NULL ELSE failing_since END,
        updated_at = now()
    WHERE id = :id AND org_id = :org_id AND mode = :mode
    RETURNING {_PUBLIC}
""")
_DELETE = sa.text("DELETE FROM endpoints WHERE id = :id AND org_id = :org_id AND mode = :mode RETURNING id")
_ROTATE = sa.text("""
    UPDATE endpoints SET previous_secret = secret, secret = :secret,
        previous_secret_expires_at = now() + make_interval(secs => :overlap_s), updated_at = now()
    WHERE id = :id AND org_id = :org_id AND mode = :mode
    RETURNING previous_secret_expires_at
""")


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


async def insert(
    conn: AsyncConnection,
    *,
    id: str,
    org_id: str,
    mode: str,
    url: str,
    events: list[str],
    description: str,
    secret_ciphertext: str,
) -> Any:
    return (
        await conn.execute(
            _INSERT,
            {
                "id": id,
                "org_id": org_id,
                "mode": mode,
                "url": url,
                "events": events,
                "description": description,
                "secret": secret_ciphertext,
            },
        )
    ).one()


async def get(conn: AsyncConnection, org_id: str, mode: str, id: str) -> Any | None:
    return (await conn.execute(_GET, {"id": id, "org_id": org_id, "mode": mode})).first()


async def page(conn: AsyncConnection, org_id: str, mode: str, before_seq: int | None, limit: int) -> list[Any]:
    """Newest first; one row more than `limit` when another page follows."""
    params = {"org_id": org_id, "mode": mode, "before": before_seq, "n": limit + 1}
    return list((await conn.execute(_PAGE, params)).all())


async def update(
    conn: AsyncConnection,
    org_id: str,
    mode: str,
    id: str,
    *,
    url: str | None,
    events: list[str] | None,
    description: str | None,
    is_active: bool | None,
) -> Any | None:
    params = {
        "id": id,
        "org_id": org_id,
        "mode": mode,
        "url": url,
        "events": events,
        "description": description,
        "is_active": is_active,
    }
    stmt = _UPDATE.bindparams(
        sa.bindparam("events", type_=sa.ARRAY(sa.Text)), sa.bindparam("is_active", type_=sa.Boolean)
    )
    return (await conn.execute(stmt, params)).first()


async def delete(conn: AsyncConnection, org_id: str, mode: str, id: str) -> bool:
    return (await conn.execute(_DELETE, {"id": id, "org_id": org_id, "mode": mode})).first() is not None


async def rotate_secret(
    conn: AsyncConnection, org_id: str, mode: str, id: str, secret_ciphertext: str, overlap_s: float
) -> datetime | None:
    row = (
        await conn.execute(
            _ROTATE, {"id": id, "org_id": org_id, "mode": mode, "secret": secret_ciphertext, "overlap_s": overlap_s}
        )
    ).first()
    return row.previous_secret_expires_at if row else None
