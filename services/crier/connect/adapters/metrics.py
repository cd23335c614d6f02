"""Account metrics snapshots, and the collector's schedule on the account rows.

The collector takes due accounts the way the refresher does: one statement claims them (FOR UPDATE
SKIP LOCKED, so replicas take disjoint sets) and moves their `metrics_due_at` a lease ahead, so
another collector — or this one after a restart — does not take them again while the capture is
under way. The capture's own transaction then stores the snapshot and sets the next due time
together: a crash before it leaves the lease to run out and the account to be taken again; a crash
after it leaves nothing to repeat.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import TS, metadata
from crier.connect.adapters.tables import social_accounts as accounts
from crier.connect.domain.accounts import ACTIVE
from crier.kit.errors import Invalid

account_metrics = sa.Table(
    "account_metrics",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("followers", sa.BigInteger),
    sa.Column("following", sa.BigInteger),
    sa.Column("posts_count", sa.BigInteger),
    sa.Column("impressions", sa.BigInteger),
    sa.Column("reach", sa.BigInteger),
    sa.Column("profile_views", sa.BigInteger),
    sa.Column("raw", JSONB, nullable=False),
    sa.Column("captured_at", TS, nullable=False),
)
m = account_metrics
FIGURES = ("followers", "following", "posts_count", "impressions", "reach", "profile_views")


@dataclass(frozen=True)
class Due:
    """An account the collector claimed, with what its capture needs to know."""

    id: str
    org_id: str
    mode: str
    platform: str
    sandbox: bool
    social_network_id: str | None
    failures: int


async def claim_due(conn: AsyncConnection, now: datetime, *, lease_s: float, limit: int) -> list[Due]:
    """Up to `limit` active accounts whose capture is due (never scheduled ones first), each
    leased until now + lease_s."""
    due = (
        sa.select(accounts.c.id)
        .where(
            accounts.c.status == ACTIVE,
            accounts.c.deleted_at.is_(None),
            sa.or_(accounts.c.metrics_due_at.is_(None), accounts.c.metrics_due_at <= now),
        )
        .order_by(accounts.c.metrics_due_at.asc().nulls_first())
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        accounts.update()
        .where(accounts.c.id.in_(due.scalar_subquery()))
        .values(metrics_due_at=now + timedelta(seconds=lease_s))
        .returning(
            accounts.c.id,
            accounts.c.org_id,
            accounts.c.mode,
            accounts.c.platform,
            accounts.c.sandbox,
            accounts.c.social_network_id,
            accounts.c.metrics_failures,
        )
    )
    return [Due(*row) for row in (await conn.execute(stmt)).all()]


async def store(conn: AsyncConnection, due: Due, figures: Mapping[str, Any], raw: dict[str, Any], at: datetime) -> str:
    snapshot_id = str(uuid.uuid4())
    await conn.execute(
        m.insert().values(
            id=snapshot_id,
            account_id=due.id,
            org_id=due.org_id,
            mode=due.mode,
            platform=due.platform,
            raw=raw,
            captured_at=at,
            **{name: figures.get(name) for name in FIGURES},
        )
    )
    return snapshot_id


async def schedule(conn: AsyncConnection, account_id: str, next_at: datetime, *, failures: int) -> None:
    await conn.execute(
        accounts.update().where(accounts.c.id == account_id).values(metrics_due_at=next_at, metrics_failures=failures)
    )


async def latest(conn: AsyncConnection, account_id: str) -> Any | None:
    query = sa.select(m).where(m.c.account_id == account_id).order_by(m.c.captured_at.desc(), m.c.id.desc()).limit(1)
    return (await conn.execute(query)).first()


async def series(
    conn: AsyncConnection,
    account_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Snapshots in [since, until], oldest first, `limit` after `cursor`; and the next page's cursor."""
    where = [m.c.account_id == account_id]
    if since is not None:
        where.append(m.c.captured_at >= since)
    if until is not None:
        where.append(m.c.captured_at <= until)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        where.append(sa.tuple_(m.c.captured_at, m.c.id) > sa.tuple_(sa.literal(at, TS), sa.literal(last_id, sa.Text)))
    query = sa.select(m).where(*where).order_by(m.c.captured_at, m.c.id).limit(limit + 1)
    rows = list((await conn.execute(query)).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.captured_at, last.id)


async def forget_before(conn: AsyncConnection, cutoff: datetime, *, limit: int) -> int:
    """Delete up to `limit` snapshots captured before `cutoff` (a batch: a long retention backlog
    never holds one huge transaction); how many went."""
    doomed = sa.select(m.c.id).where(m.c.captured_at < cutoff).limit(limit).scalar_subquery()
    result = await conn.execute(m.delete().where(m.c.id.in_(doomed)))
    return int(result.rowcount or 0)


class _Position(msgspec.Struct, frozen=True):
    c: datetime
    i: str


def encode_cursor(at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(_Position(at, row_id))).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        position = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise Invalid("invalid_cursor", "the cursor is not one this API issued") from None
    if position.c.tzinfo is None:
        raise Invalid("invalid_cursor", "the cursor is not one this API issued")
    return position.c, position.i
