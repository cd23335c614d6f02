"""Import jobs (`imports`): created on request, moved along by the publisher's `evt.import.*`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import TS, metadata
from crier.contracts.common import Mode
from crier.contracts.imports import Import
from crier.kit.pages import Page, after_cursor, newest_first, page_of

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("since", TS),
    sa.Column("limit", sa.Integer),
    sa.Column("pages", sa.Integer, nullable=False),
    sa.Column("fetched", sa.Integer, nullable=False),
    sa.Column("imported", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("error_code", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    sa.Column("updated_at", TS, nullable=False),
)
ACTIVE = sa.text("status IN ('queued', 'running')")
_FIELDS = [c.name for c in imports.c if c.name not in ("org_id", "mode")]


def public(row: Any) -> Import:
    return Import(**{name: getattr(row, name) for name in _FIELDS})


async def create(conn: AsyncConnection, values: dict[str, Any]) -> Any | None:
    """The new job, or None when the account has an import queued or running already."""
    stmt = (
        insert(imports)
        .values(pages=0, fetched=0, imported=0, skipped=0, **values)
        # The partial index's predicate in literals: a bound `IN ($1, $2)` stops matching the index
        # once PostgreSQL plans the prepared statement generically (from its sixth run on a pooled
        # connection), and every import after that would fail.
        .on_conflict_do_nothing(index_elements=[imports.c.account_id], index_where=ACTIVE)
        .returning(imports)
    )
    return (await conn.execute(stmt)).first()


async def active_for(conn: AsyncConnection, account_id: str) -> Any | None:
    query = sa.select(imports).where(imports.c.account_id == account_id, imports.c.status.in_(("queued", "running")))
    return (await conn.execute(query)).first()


async def get(conn: AsyncConnection, org_id: str, mode: Mode, import_id: str) -> Any | None:
    query = sa.select(imports).where(imports.c.id == import_id, imports.c.org_id == org_id, imports.c.mode == mode)
    return (await conn.execute(query)).first()


async def of_account(
    conn: AsyncConnection, org_id: str, mode: Mode, account_id: str, *, limit: int, cursor: str | None
) -> Page[Any]:
    query = (
        sa.select(imports)
        .where(
            imports.c.org_id == org_id,
            imports.c.mode == mode,
            imports.c.account_id == account_id,
            *after_cursor(imports, cursor),
        )
        .order_by(*newest_first(imports))
        .limit(limit + 1)
    )
    return page_of(list((await conn.execute(query)).all()), limit)


async def update(conn: AsyncConnection, import_id: str, at: datetime, *, final: bool = False, **values: Any) -> None:
    """Applies what an event reports. A finished job keeps its outcome: an event that arrives after
    the final one (a page redelivered late) changes nothing."""
    open_ = imports.c.status.in_(("queued", "running"))
    await conn.execute(
        imports.update()
        .where(imports.c.id == import_id, open_)
        .values(updated_at=at, **({"finished_at": at} if final else {}), **values)
    )
