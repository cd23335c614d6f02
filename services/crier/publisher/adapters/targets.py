"""The `targets`, `attempts`, `container_progress` and `canceled_targets` tables.

Every function takes the caller's connection: the caller owns the transaction, so a state change
and the event announcing it commit together.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.commands import PublishTarget
from crier.platforms.base import PublishedContainer
from crier.publisher.domain.target import Status, Target

_CLAIM = sa.text(
    """
    INSERT INTO targets (target_id, post_id, org_id, mode, platform, status)
    VALUES (:target_id, :post_id, :org_id, :mode, :platform, 'publishing')
    ON CONFLICT (target_id) DO NOTHING
    """
)
# Time is Postgres' own clock, so replicas with skewed clocks agree on when a backoff ends.
_LOCK = sa.text(
    """
    SELECT target_id, status, failed_attempts,
           GREATEST(0, EXTRACT(EPOCH FROM retry_at - clock_timestamp()))::float8 AS retry_wait_s
    FROM targets WHERE target_id = :target_id FOR UPDATE
    """
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
        },
    )
    return await lock(conn, cmd.target_id)


async def lock(conn: AsyncConnection, target_id: str) -> Target:
    row = (await conn.execute(_LOCK, {"target_id": target_id})).one()
    return Target(row.target_id, Status(row.status), row.failed_attempts, row.retry_wait_s or 0.0)


async def is_canceled(conn: AsyncConnection, target_id: str) -> bool:
    found = await conn.scalar(sa.text("SELECT 1 FROM canceled_targets WHERE target_id = :t"), {"t": target_id})
    return found is not None


async def record_cancellations(conn: AsyncConnection, post_id: str, target_ids: list[str]) -> None:
    if target_ids:
        await conn.execute(
            sa.text("INSERT INTO canceled_targets (target_id, post_id) VALUES (:t, :p) ON CONFLICT DO NOTHING"),
            [{"t": t, "p": post_id} for t in target_ids],
        )


async def start_attempt(conn: AsyncConnection, target_id: str, number: int) -> None:
    await conn.execute(
        sa.text(
            """
            INSERT INTO attempts (target_id, number) VALUES (:t, :n)
            ON CONFLICT (target_id, number) DO UPDATE
              SET deliveries = attempts.deliveries + 1, started_at = now()
            """
        ),
        {"t": target_id, "n": number},
    )
    await set_status(conn, target_id, Status.PUBLISHING)


async def finish_attempt(
    conn: AsyncConnection,
    target_id: str,
    number: int,
    outcome: str,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    retry_in_s: float | None = None,
) -> None:
    await conn.execute(
        sa.text(
            """
            UPDATE attempts SET finished_at = now(), outcome = :o, error_code = :c, error_message = :m,
                   retry_in_s = :r
            WHERE target_id = :t AND number = :n
            """
        ),
        {"t": target_id, "n": number, "o": outcome, "c": error_code, "m": error_message, "r": retry_in_s},
    )


async def set_status(conn: AsyncConnection, target_id: str, status: Status) -> None:
    await conn.execute(
        sa.text("UPDATE targets SET status = :s, updated_at = now() WHERE target_id = :t"),
        {"t": target_id, "s": status.value},
    )


async def record_failure(
    conn: AsyncConnection,
    target_id: str,
    *,
    status: Status,
    failed_attempts: int,
    error_code: str,
    error_message: str,
    retry_in_s: float | None,
) -> None:
    await conn.execute(
        sa.text(
            """
            UPDATE targets SET status = :s, failed_attempts = :f, error_code = :c, error_message = :m,
                   retry_at = CASE WHEN CAST(:r AS float8) IS NULL THEN NULL
                                   ELSE clock_timestamp() + make_interval(secs => CAST(:r AS float8)) END,
                   updated_at = now()
            WHERE target_id = :t
            """
        ),
        {"t": target_id, "s": status.value, "f": failed_attempts, "c": error_code, "m": error_message, "r": retry_in_s},
    )


async def mark_published(conn: AsyncConnection, target_id: str, root: PublishedContainer) -> None:
    await conn.execute(
        sa.text(
            """
            UPDATE targets SET status = 'published', platform_post_id = :p, url = :u, retry_at = NULL,
                   error_code = NULL, error_message = NULL, updated_at = now()
            WHERE target_id = :t
            """
        ),
        {"t": target_id, "p": root.platform_post_id, "u": root.url},
    )


async def progress_of(conn: AsyncConnection, target_id: str) -> dict[int, PublishedContainer]:
    rows = await conn.execute(
        sa.text("SELECT container_index, platform_post_id, url FROM container_progress WHERE target_id = :t"),
        {"t": target_id},
    )
    return {r.container_index: PublishedContainer(r.platform_post_id, r.url) for r in rows}


async def record_progress(conn: AsyncConnection, target_id: str, index: int, published: PublishedContainer) -> None:
    # No ON CONFLICT: a second writer for the same container must fail and roll back whatever it
    # posted in this transaction (the sandbox's post), never silently post twice.
    await conn.execute(
        sa.text(
            "INSERT INTO container_progress (target_id, container_index, platform_post_id, url) VALUES (:t, :i, :p, :u)"
        ),
        {"t": target_id, "i": index, "p": published.platform_post_id, "u": published.url},
    )
