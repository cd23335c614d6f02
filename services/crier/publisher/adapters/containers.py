"""Where each container of a target stands: posted (`container_progress`), or sent with its outcome
not yet known (`container_sends`).

A send marker commits before the platform is called, and is replaced by the progress row in one
transaction once the platform answered; a marker without a progress row therefore means a call
whose answer never got recorded (a timeout, a crash), and the post may exist on the platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.platforms.base import PublishedContainer
from crier.publisher.adapters.stages import stages_of
from crier.publisher.adapters.tables import TS, container_progress, container_sends

_now = sa.func.now(type_=TS)


@dataclass(frozen=True)
class Progress:
    # The containers on the platform, by index.
    posted: dict[int, PublishedContainer] = field(default_factory=dict)
    # The containers sent without a recorded answer, with when each was first sent.
    unsettled: dict[int, datetime] = field(default_factory=dict)
    # What the adapter saved of the containers under way (`adapters.stages`), by index.
    stages: dict[int, dict[str, Any]] = field(default_factory=dict)


async def progress_of(conn: AsyncConnection, target_id: str) -> Progress:
    rows = await conn.execute(
        sa.select(
            container_progress.c.container_index,
            container_progress.c.platform_post_id,
            container_progress.c.url,
            container_progress.c.notes,
        ).where(container_progress.c.target_id == target_id)
    )
    posted = {r.container_index: PublishedContainer(r.platform_post_id, r.url, tuple(r.notes)) for r in rows}
    sent = await conn.execute(
        sa.select(container_sends.c.container_index, container_sends.c.sent_at).where(
            container_sends.c.target_id == target_id
        )
    )
    unsettled = {r.container_index: r.sent_at for r in sent if r.container_index not in posted}
    return Progress(posted, unsettled, await stages_of(conn, target_id))


async def mark_sent(conn: AsyncConnection, target_id: str, index: int, attempt: int) -> None:
    mark = pg_insert(container_sends).values(target_id=target_id, container_index=index, attempt=attempt, sent_at=_now)
    await conn.execute(
        mark.on_conflict_do_update(
            index_elements=[container_sends.c.target_id, container_sends.c.container_index],
            # `sent_at` stays the first send's: a post made since then may be any of the sends.
            set_={"attempt": mark.excluded.attempt},
        )
    )


async def record_progress(conn: AsyncConnection, target_id: str, index: int, published: PublishedContainer) -> None:
    # No ON CONFLICT: a second writer for the same container must fail and roll back whatever it
    # posted in this transaction (the sandbox's post), never silently post twice.
    await conn.execute(
        sa.insert(container_progress).values(
            target_id=target_id,
            container_index=index,
            platform_post_id=published.platform_post_id,
            url=published.url,
            notes=list(published.notes),
        )
    )
    await conn.execute(
        sa.delete(container_sends).where(
            container_sends.c.target_id == target_id, container_sends.c.container_index == index
        )
    )
