"""The publisher's record of imports: each run's progress (`import_runs`: the cursor of the next
page and the counts so far) and the ledger of imported posts (`imported_posts`, keyed by account
and platform post id, so a post is never imported twice, by this import or any later one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.imports import ImportPosts
from crier.publisher.adapters.tables import TS, metadata

import_runs = sa.Table(
    "import_runs",
    metadata,
    sa.Column("import_id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    # running | completed | failed
    sa.Column("status", sa.Text, nullable=False),
    # Where the next page starts; NULL before the first page.
    sa.Column("cursor", sa.Text),
    sa.Column("pages", sa.Integer, nullable=False),
    sa.Column("fetched", sa.Integer, nullable=False),
    sa.Column("imported", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("finished_at", TS),
)

imported_posts = sa.Table(
    "imported_posts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("platform_post_id", sa.Text, primary_key=True),
    sa.Column("import_id", sa.Text, nullable=False),
    sa.Column("imported_at", TS, nullable=False),
)


async def get(conn: AsyncConnection, import_id: str) -> Any | None:
    return (await conn.execute(sa.select(import_runs).where(import_runs.c.import_id == import_id))).first()


async def begin(conn: AsyncConnection, cmd: ImportPosts, now: datetime) -> bool:
    """The run's row, unless another delivery of the command made it first (False then)."""
    made = await conn.execute(
        insert(import_runs)
        .values(
            import_id=cmd.import_id,
            org_id=cmd.org_id,
            mode=cmd.mode,
            account_id=cmd.account_id,
            platform=cmd.platform,
            status="running",
            cursor=None,
            pages=0,
            fetched=0,
            imported=0,
            skipped=0,
            failures=0,
            started_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[import_runs.c.import_id])
    )
    return made.rowcount == 1


async def take_new(
    conn: AsyncConnection, account_id: str, import_id: str, post_ids: list[str], now: datetime
) -> set[str]:
    """Enters the posts in the ledger; the ids that were not there before."""
    if not post_ids:
        return set()
    rows = [
        {"account_id": account_id, "platform_post_id": p, "import_id": import_id, "imported_at": now}
        for p in dict.fromkeys(post_ids)
    ]
    stmt = insert(imported_posts).values(rows).on_conflict_do_nothing().returning(imported_posts.c.platform_post_id)
    return set((await conn.scalars(stmt)).all())


async def advance(
    conn: AsyncConnection, run: Any, *, cursor: str | None, fetched: int, imported: int, now: datetime
) -> bool:
    """Moves the run past one page, only if it still stands where `run` saw it: False when another
    delivery of the same import got there first (its page is already recorded)."""
    moved = await conn.execute(
        import_runs.update()
        .where(
            import_runs.c.import_id == run.import_id,
            import_runs.c.pages == run.pages,
            import_runs.c.status == "running",
        )
        .values(
            cursor=cursor,
            pages=run.pages + 1,
            fetched=run.fetched + fetched,
            imported=run.imported + imported,
            skipped=run.skipped + fetched - imported,
            failures=0,
            updated_at=now,
        )
    )
    return moved.rowcount == 1


async def finish(conn: AsyncConnection, import_id: str, status: str, now: datetime) -> Any | None:
    """Ends a running run; the row as it ends, or None when it had ended already."""
    return (
        await conn.execute(
            import_runs.update()
            .where(import_runs.c.import_id == import_id, import_runs.c.status == "running")
            .values(status=status, finished_at=now, updated_at=now)
            .returning(import_runs)
        )
    ).first()


async def failed_once_more(conn: AsyncConnection, import_id: str, now: datetime) -> int:
    """Counts a failed read; the failures in a row so far."""
    return int(
        await conn.scalar(
            import_runs.update()
            .where(import_runs.c.import_id == import_id)
            .values(failures=import_runs.c.failures + 1, updated_at=now)
            .returning(import_runs.c.failures)
        )
        or 0
    )
