"""The `targets`, `attempts`, `container_progress` and `canceled_targets` tables.

Every function takes the caller's connection: the caller owns the transaction, so a state change
and the event announcing it commit together. Time is Postgres' own clock, so replicas with skewed
clocks agree on when a backoff ends.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.commands import PublishTarget
from crier.contracts.common import TargetStatus
from crier.platforms.base import PublishedContainer
from crier.publisher.adapters.tables import TS, attempts, canceled_targets, container_progress, targets
from crier.publisher.domain.target import Target

_now = sa.func.now(type_=TS)
_clock = sa.func.clock_timestamp(type_=TS)

_CLAIM = pg_insert(targets).on_conflict_do_nothing(index_elements=[targets.c.target_id])
_LOCK = (
    sa.select(
        targets.c.target_id,
        targets.c.status,
        targets.c.failed_attempts,
        sa.func.greatest(0, sa.extract("epoch", targets.c.retry_at - _clock)).label("retry_wait_s"),
    )
    .where(targets.c.target_id == sa.bindparam("target_id"))
    .with_for_update()
)
_START_ATTEMPT = pg_insert(attempts).on_conflict_do_update(
    index_elements=[attempts.c.target_id, attempts.c.number],
    set_={"deliveries": attempts.c.deliveries + 1, "started_at": _now},
)


async def claim(conn: AsyncConnection, cmd: PublishTarget) -> Target:
    """The target's row, created on its first command and locked until the transaction ends, so
    two deliveries of one target (a redelivery racing a slow replica) decide one at a time."""
    await conn.execute(
        _CLAIM,
        {
            "target_id": cmd.target_id,
            "post_id": cmd.post_id,
            "org_id": cmd.org_id,
            "mode": cmd.mode,
            "platform": cmd.platform,
            "status": "publishing",
            "failed_attempts": 0,
        },
    )
    return await lock(conn, cmd.target_id)


async def lock(conn: AsyncConnection, target_id: str) -> Target:
    row = (await conn.execute(_LOCK, {"target_id": target_id})).one()
    return Target(row.target_id, row.status, row.failed_attempts, float(row.retry_wait_s or 0))


async def is_canceled(conn: AsyncConnection, target_id: str) -> bool:
    found = await conn.scalar(sa.select(sa.literal(1)).where(canceled_targets.c.target_id == target_id))
    return found is not None


async def record_cancellations(conn: AsyncConnection, post_id: str, target_ids: list[str]) -> None:
    if target_ids:
        await conn.execute(
            pg_insert(canceled_targets).on_conflict_do_nothing(),
            [{"target_id": t, "post_id": post_id} for t in target_ids],
        )


async def start_attempt(conn: AsyncConnection, target_id: str, number: int) -> None:
    """Attempt `number` begins, or begins again when its first delivery died mid-way."""
    await conn.execute(_START_ATTEMPT, {"target_id": target_id, "number": number})
    await set_status(conn, target_id, "publishing")


async def finish_attempt(
    conn: AsyncConnection,
    target_id: str,
    number: int,
    outcome: TargetStatus,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    retry_in_s: float | None = None,
) -> None:
    await conn.execute(
        sa.update(attempts)
        .where(attempts.c.target_id == target_id, attempts.c.number == number)
        .values(
            finished_at=_now,
            outcome=outcome,
            error_code=error_code,
            error_message=error_message,
            retry_in_s=retry_in_s,
        )
    )


async def set_status(conn: AsyncConnection, target_id: str, status: TargetStatus) -> None:
    await conn.execute(
        sa.update(targets).where(targets.c.target_id == target_id).values(status=status, updated_at=_now)
    )


async def record_failure(
    conn: AsyncConnection,
    target_id: str,
    *,
    status: TargetStatus,
    failed_attempts: int,
    error_code: str,
    error_message: str,
    retry_in_s: float | None,
) -> None:
    await conn.execute(
        sa.update(targets)
        .where(targets.c.target_id == target_id)
        .values(
            status=status,
            failed_attempts=failed_attempts,
            error_code=error_code,
            error_message=error_message,
            retry_at=None if retry_in_s is None else _clock + timedelta(seconds=retry_in_s),
            updated_at=_now,
        )
    )


async def mark_published(conn: AsyncConnection, target_id: str, root: PublishedContainer) -> None:
    await conn.execute(
        sa.update(targets)
        .where(targets.c.target_id == target_id)
        .values(
            status="published",
            platform_post_id=root.platform_post_id,
            url=root.url,
            retry_at=None,
            error_code=None,
            error_message=None,
            updated_at=_now,
        )
    )


async def progress_of(conn: AsyncConnection, target_id: str) -> dict[int, PublishedContainer]:
    rows = await conn.execute(
        sa.select(
            container_progress.c.container_index, container_progress.c.platform_post_id, container_progress.c.url
        ).where(container_progress.c.target_id == target_id)
    )
    return {r.container_index: PublishedContainer(r.platform_post_id, r.url) for r in rows}


async def record_progress(conn: AsyncConnection, target_id: str, index: int, published: PublishedContainer) -> None:
    # No ON CONFLICT: a second writer for the same container must fail and roll back whatever it
    # posted in this transaction (the sandbox's post), never silently post twice.
    await conn.execute(
        sa.insert(container_progress).values(
            target_id=target_id, container_index=index, platform_post_id=published.platform_post_id, url=published.url
        )
    )
