"""The timetable and its cancellations. Functions take the caller's connection, so the caller
decides what commits together. Time is the database's clock throughout: every replica and the rows
agree on what "now" is."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.commands import PublishTarget
from crier.kit.bus import inbox
from crier.kit.direct_sql import DirectStatement, fetch
from crier.scheduler.adapters.tables import TS, cancellations, timetable
from crier.scheduler.domain.timetable import CREATED_VERSION, Entry

_now = sa.func.clock_timestamp(type_=TS)
# The same clock read once per statement (an InitPlan), so it can bound an index scan: compared
# with clock_timestamp() itself, which is volatile, `due_at` is only a filter, and a look for due
# rows walks every waiting row after the last due one (1.4 s at 500,000 pending, against 0.01 ms).
_now_once = sa.select(_now).scalar_subquery()
_waiting = sa.and_(timetable.c.fired_at.is_(None), sa.not_(timetable.c.canceled))

# A post's entries written from one array per column, each written canceled when its cancellation
# came first, in one statement: a read of the cancellations and an insert per row took two round
# trips. Every post runs it, on the driver directly (`kit.direct_sql`). No moment means now.
_ENTRIES = (
    "SELECT e.target_id, e.post_id, e.org_id, e.mode, e.platform,"
    " coalesce(e.scheduled_at, clock_timestamp()) AS due_at, CAST(e.command AS jsonb) AS command,"
    " EXISTS (SELECT 1 FROM cancellations c WHERE c.target_id = e.target_id) AS canceled,"
    " CAST(:trace AS text) AS trace, CAST(:post_version AS integer) AS post_version"
    " FROM unnest(CAST(:target_ids AS text[]), CAST(:post_ids AS text[]), CAST(:org_ids AS text[]),"
    " CAST(:modes AS text[]), CAST(:platforms AS text[]), CAST(:scheduled_ats AS timestamptz[]),"
    " CAST(:commands AS text[])) AS e(target_id, post_id, org_id, mode, platform, scheduled_at, command)"
)
_COLUMNS = "target_id, post_id, org_id, mode, platform, due_at, command, canceled, trace, post_version"
# A post's creation: its event claimed in the inbox and, only if it was not handled before, its
# entries written, in one statement committed by itself (a transaction took four round trips).
_ADD_CLAIMING = DirectStatement(
    f"WITH claimed AS ({inbox.CLAIM}), added AS ("
    f"INSERT INTO timetable ({_COLUMNS}) {_ENTRIES} WHERE EXISTS (SELECT 1 FROM claimed)"
    " ON CONFLICT (target_id) DO NOTHING"
    ") SELECT count(*) AS claimed FROM claimed"
)
# What fired has gone to the publisher and cannot be called back; what was canceled stays
# canceled; an update older than the one the row holds changes nothing.
_REVISE = DirectStatement(
    f"INSERT INTO timetable AS t ({_COLUMNS}) {_ENTRIES}"
    " ON CONFLICT (target_id) DO UPDATE SET due_at = EXCLUDED.due_at, command = EXCLUDED.command,"
    " trace = EXCLUDED.trace, post_version = EXCLUDED.post_version"
    " WHERE t.fired_at IS NULL AND NOT t.canceled AND t.post_version < EXCLUDED.post_version"
    " RETURNING t.target_id"
)
_NEXT_DUE = DirectStatement(
    sa.select(
        sa.select(sa.func.min(timetable.c.due_at)).where(_waiting).scalar_subquery().label("next_due"),
        _now.label("now"),
    )
)
# SKIP LOCKED lets several scheduler replicas fire concurrently, each taking different rows.
_DUE = (
    sa.select(timetable.c.target_id)
    .where(_waiting, timetable.c.due_at <= _now_once)
    .order_by(timetable.c.due_at)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_FIRE = DirectStatement(
    sa.update(timetable)
    .where(timetable.c.target_id.in_(_DUE.scalar_subquery()))
    .values(fired_at=_now)
    .returning(
        timetable.c.due_at,
        timetable.c.fired_at,
        sa.cast(timetable.c.command, sa.Text).label("command"),
        timetable.c.trace,
    )
)
_PENDING_POSTS = DirectStatement(
    sa.select(sa.func.count(sa.distinct(timetable.c.post_id))).where(_waiting, timetable.c.due_at > _now_once)
)


@dataclass(frozen=True)
class DueTarget:
    due_at: datetime
    # The database's clock when the row was marked fired, in the transaction that sends it.
    fired_at: datetime
    command: PublishTarget
    # The trace context of the request that created the post, so firing continues its trace.
    trace: dict[str, str]

    @property
    def lateness_s(self) -> float:
        """How long after its moment the target fired, both read from the database's clock."""
        return max(0.0, (self.fired_at - self.due_at).total_seconds())


async def add_claiming(
    conn: AsyncConnection, consumer: str, event_id: str, entries: Sequence[Entry], trace: dict[str, str]
) -> bool:
    """The entries of a new post, written with the claim of the event announcing it; False, with
    nothing written, when the event was handled before."""
    params = {**_params(entries, trace, CREATED_VERSION), "consumer": consumer, "ids": [event_id]}
    (row,) = await fetch(conn, _ADD_CLAIMING, params)
    return bool(row["claimed"])


async def revise(conn: AsyncConnection, entries: Sequence[Entry], version: int, trace: dict[str, str]) -> list[str]:
    """Writes the entries of version `version` of their post: new targets are added, waiting ones
    take their new moment and command. Returns the targets written."""
    if not entries:
        return []
    return [row[0] for row in await fetch(conn, _REVISE, _params(entries, trace, version))]


def _params(entries: Sequence[Entry], trace: dict[str, str], version: int) -> dict[str, object]:
    return {
        "target_ids": [e.target_id for e in entries],
        "post_ids": [e.post_id for e in entries],
        "org_ids": [e.org_id for e in entries],
        "modes": [e.mode for e in entries],
        "platforms": [e.platform for e in entries],
        "scheduled_ats": [e.scheduled_at for e in entries],
        # Already encoded by msgspec, which knows the command's types (json.dumps would not).
        "commands": [msgspec.json.encode(e.command).decode() for e in entries],
        "trace": json.dumps(trace),
        "post_version": version,
    }


async def cancel(conn: AsyncConnection, post_id: str, target_ids: Sequence[str]) -> int:
    """Cancels the targets that have not fired; returns how many were stopped."""
    if not target_ids:
        return 0
    await conn.execute(
        pg_insert(cancellations).on_conflict_do_nothing(),
        [{"target_id": t, "post_id": post_id} for t in target_ids],
    )
    result = await conn.execute(
        sa.update(timetable).where(timetable.c.target_id.in_(target_ids), _waiting).values(canceled=True)
    )
    return result.rowcount


async def rearm(
    conn: AsyncConnection, post_id: str, target_ids: Sequence[str], redrive: int, trace: dict[str, str]
) -> list[str]:
    """Makes the targets' fired commands due again now, as redrive generation `redrive`; returns the
    targets re-armed. A target already at that generation or a later one is left alone, so a
    redelivered or late redrive never sends a command twice."""
    if not target_ids:
        return []
    generation = sa.func.coalesce(timetable.c.command["redrive"].astext.cast(sa.Integer), 0)
    result = await conn.execute(
        sa.update(timetable)
        .where(
            timetable.c.post_id == post_id,
            timetable.c.target_id.in_(target_ids),
            sa.not_(timetable.c.canceled),
            generation < redrive,
        )
        .values(
            command=sa.func.jsonb_set(
                timetable.c.command, sa.literal(["redrive"], ARRAY(sa.Text)), sa.func.to_jsonb(redrive)
            ),
            due_at=_now,
            fired_at=None,
            trace=json.dumps(trace),
        )
        .returning(timetable.c.target_id)
    )
    return list(result.scalars())


async def next_due(conn: AsyncConnection) -> tuple[datetime | None, datetime]:
    """The earliest moment a waiting target is due (None: nothing waits), and the database's now."""
    (row,) = await fetch(conn, _NEXT_DUE)
    return row["next_due"], row["now"]


async def take_due(conn: AsyncConnection, limit: int) -> list[DueTarget]:
    """Locks up to `limit` due rows for this transaction and marks them fired in it, earliest first."""
    rows = await fetch(conn, _FIRE, {"limit": limit})
    due = [DueTarget(r[0], r[1], msgspec.json.decode(r[2], type=PublishTarget), json.loads(r[3])) for r in rows]
    return sorted(due, key=lambda d: d.due_at)


async def pending_posts(conn: AsyncConnection) -> int:
    """Posts with a target still waiting for a moment that has not come yet."""
    (row,) = await fetch(conn, _PENDING_POSTS)
    return int(row[0])
