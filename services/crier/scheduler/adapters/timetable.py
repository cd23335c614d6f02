"""The `timetable` and `cancellations` tables. Functions take the caller's connection, so the
caller decides what commits together."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.commands import PublishTarget
from crier.scheduler.domain.timetable import Entry

_ADD = sa.text(
    """
    INSERT INTO timetable (target_id, post_id, org_id, mode, platform, due_at, command, canceled, trace)
    VALUES (:target_id, :post_id, :org_id, :mode, :platform,
            COALESCE(CAST(:scheduled_at AS timestamptz), clock_timestamp()), CAST(:command AS jsonb),
            EXISTS (SELECT 1 FROM cancellations c WHERE c.target_id = :target_id), :trace)
    ON CONFLICT (target_id) DO NOTHING
    """
)
# Database time throughout: every replica and the rows agree on what "now" is.
_NEXT_DUE = sa.text(
    "SELECT (SELECT min(due_at) FROM timetable WHERE fired_at IS NULL AND NOT canceled) AS next_due,"
    " clock_timestamp() AS now"
)
# SKIP LOCKED lets several scheduler replicas fire concurrently, each taking different rows.
_DUE = sa.text(
    """
    SELECT target_id, post_id, org_id, mode, platform, command::text AS command, trace
    FROM timetable
    WHERE fired_at IS NULL AND NOT canceled AND due_at <= clock_timestamp()
    ORDER BY due_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)


@dataclass(frozen=True)
class DueTarget:
    target_id: str
    post_id: str
    org_id: str
    mode: str
    platform: str
    command: PublishTarget
    # The trace context of the request that created the post, so firing continues its trace.
    trace: dict[str, str]


async def add(conn: AsyncConnection, entries: Sequence[Entry], trace: dict[str, str] | None = None) -> None:
    if entries:
        await conn.execute(
            _ADD,
            [
                {
                    "target_id": e.target_id,
                    "post_id": e.post_id,
                    "org_id": e.org_id,
                    "mode": e.mode,
                    "platform": e.platform,
                    "scheduled_at": e.scheduled_at,
                    "command": msgspec.json.encode(e.command).decode(),
                    "trace": json.dumps(trace or {}),
                }
                for e in entries
            ],
        )


async def cancel(conn: AsyncConnection, post_id: str, target_ids: Sequence[str]) -> int:
    """Cancels the targets that have not fired; returns how many were stopped."""
    if not target_ids:
        return 0
    await conn.execute(
        sa.text("INSERT INTO cancellations (target_id, post_id) VALUES (:t, :p) ON CONFLICT DO NOTHING"),
        [{"t": t, "p": post_id} for t in target_ids],
    )
    result = await conn.execute(
        sa.text(
            "UPDATE timetable SET canceled = true WHERE target_id = ANY(:ids) AND fired_at IS NULL AND NOT canceled"
        ),
        {"ids": list(target_ids)},
    )
    return result.rowcount


async def next_due(conn: AsyncConnection) -> tuple[datetime | None, datetime]:
    row = (await conn.execute(_NEXT_DUE)).one()
    return row.next_due, row.now


async def take_due(conn: AsyncConnection, limit: int) -> list[DueTarget]:
    """Locks up to `limit` due rows for this transaction and marks them fired in it."""
    rows = (await conn.execute(_DUE, {"limit": limit})).all()
    if not rows:
        return []
    await conn.execute(
        sa.text("UPDATE timetable SET fired_at = clock_timestamp() WHERE target_id = ANY(:ids)"),
        {"ids": [r.target_id for r in rows]},
    )
    return [
        DueTarget(
            r.target_id,
            r.post_id,
            r.org_id,
            r.mode,
            r.platform,
            msgspec.json.decode(r.command, type=PublishTarget),
            json.loads(r.trace or "{}"),
        )
        for r in rows
    ]
