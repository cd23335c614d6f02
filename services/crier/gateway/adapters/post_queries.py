"""Reading posts for the API, from the projections, always within one organization and mode."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters import slots
from crier.gateway.adapters.tables import post_events, post_targets, posts
from crier.gateway.domain.filters import PostFilter
from crier.kit import direct_sql, pages
from crier.kit.direct_sql import DirectStatement

# An imported post's first event says so (`domain.events.PostImported`); read from the event store
# by its key, so the projections need no column a rebuild could lose.
IMPORTED = (
    sa.exists()
    .where(post_events.c.post_id == posts.c.id, post_events.c.version == 1, post_events.c.type == "post.imported")
    .label("imported")
)


@dataclass(frozen=True)
class PostRecord:
    post: Any
    targets: list[Any]
    # A queued post's posting slot and its zone, while the post is still at the slot's instant.
    slot: Any = None


# A post's targets and the posting slot it holds (`slots.HELD`), read with the post in the same
# statement as anonymous records, which asyncpg decodes with their columns' own types (a named row
# type, `SELECT t`, is looked up once per connection, and a column added to the table would fail
# each connection's next read once: asyncpg's OutdatedSchemaCacheError). (`str`: SQLAlchemy's
# column names are a subclass of it, which msgspec refuses as field names.)
_POST_COLUMNS = tuple(str(c.name) for c in posts.c)
_TARGET_COLUMNS = tuple(str(c.name) for c in post_targets.c)
# The rows as read, by attribute: built from positions in C (a listing of 20 posts builds 60
# targets; as SimpleNamespaces from dicts they were a tenth of its CPU).
PostRow = msgspec.defstruct("PostRow", [*_POST_COLUMNS, "imported"], frozen=True)
TargetRow = msgspec.defstruct("TargetRow", _TARGET_COLUMNS, frozen=True)
_TARGETS = sa.literal_column(
    f"ARRAY(SELECT ROW({', '.join(f't.{c}' for c in _TARGET_COLUMNS)})"
    " FROM post_targets t WHERE t.post_id = posts.id ORDER BY t.position)"
).label("targets")
# One post, run on the driver (`kit.direct_sql`). It was three SQLAlchemy statements (the post,
# its targets, its slot), whose building, compiling and execution path were most of a
# `GET /posts/{id}`: 3.5 ms of the gateway's CPU a read in a 32-connection burst, ~0.8 ms now.
_GET = DirectStatement(
    sa.select(posts, IMPORTED, _TARGETS, slots.HELD).where(
        posts.c.id == sa.bindparam("post_id"),
        posts.c.org_id == sa.bindparam("org_id"),
        posts.c.mode == sa.bindparam("mode"),
    )
)


async def get(conn: AsyncConnection, org_id: str, mode: Mode, post_id: str) -> PostRecord | None:
    row = await direct_sql.fetchrow(conn, _GET, {"post_id": post_id, "org_id": org_id, "mode": mode})
    return None if row is None else _record_of(row)


def _record_of(row: Mapping[str, Any]) -> PostRecord:
    """A row of `posts` with `imported`, `targets` and `slot`, as the record the API answers from."""
    post = PostRow(*[row[c] for c in _POST_COLUMNS], row["imported"])
    return PostRecord(post, [TargetRow(*t) for t in row["targets"]], slots.held(row["slot"]))


async def by_external_ref(conn: AsyncConnection, org_id: str, mode: Mode, external_ref: str) -> PostRecord | None:
    """The post holding this external_ref: a canceled post gave it back (see posts_external_ref_key)."""
    post_id = await ref_holder(conn, org_id, mode, external_ref)
    return await get(conn, org_id, mode, post_id) if post_id else None


async def ref_holder(conn: AsyncConnection, org_id: str, mode: Mode, external_ref: str) -> str | None:
    """The id of the post holding this external_ref, if one does."""
    post_id: str | None = await conn.scalar(
        sa.select(posts.c.id).where(
            posts.c.org_id == org_id,
            posts.c.mode == mode,
            posts.c.external_ref == external_ref,
            posts.c.canceled_at.is_(None),
        )
    )
    return post_id


async def search(
    conn: AsyncConnection, org_id: str, mode: Mode, where: PostFilter, *, limit: int, cursor: str | None
) -> pages.Page[PostRecord]:
    conditions: list[Any] = [posts.c.org_id == org_id, posts.c.mode == mode, *pages.after_cursor(posts, cursor)]
    if where.status:
        conditions.append(posts.c.status == where.status)
    if where.source is not None:
        conditions.append(IMPORTED if where.source == "imported" else ~IMPORTED)
    if where.search:
        # post_text() and its trigram index: migration 0008.
        conditions.append(sa.func.post_text(posts.c.containers).ilike(f"%{_escaped(where.search)}%", escape="\\"))
    for column, value in (
        (post_targets.c.account_id, where.account),
        (post_targets.c.platform, where.platform),
        (post_targets.c.tenant_id, where.tenant_id),
    ):
        if value is not None:
            conditions.append(sa.exists().where(post_targets.c.post_id == posts.c.id, column == value))
    for column, op, value in (
        (posts.c.created_at, "gt", where.created_after),
        (posts.c.created_at, "lt", where.created_before),
        (posts.c.scheduled_at, "gt", where.scheduled_after),
        (posts.c.scheduled_at, "lt", where.scheduled_before),
    ):
        if value is not None:
            conditions.append(column > value if op == "gt" else column < value)
    # The targets and slots in the same statement: each a statement of its own before, and their
    # SQLAlchemy rows' attribute access was a third of a listing's CPU.
    rows = (
        await conn.execute(
            sa.select(posts, IMPORTED, _TARGETS, slots.HELD)
            .where(*conditions)
            .order_by(*pages.newest_first(posts))
            .limit(limit + 1)
        )
    ).all()
    page = pages.page_of(rows, limit)
    return pages.Page([_record_of(r._mapping) for r in page.rows], page.next_cursor)


def _escaped(text: str) -> str:
    """`text` matched literally by LIKE: its wildcards are not the caller's."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def targets_by_id(conn: AsyncConnection, target_ids: list[str]) -> list[Any]:
    """Targets by their ids, whichever organization and mode: for operators, never for the API."""
    if not target_ids:
        return []
    return list((await conn.execute(sa.select(post_targets).where(post_targets.c.id.in_(target_ids)))).all())


# The console's live figures. Both read through partial indexes (migration 0012) whose predicates
# the queries repeat as literals: a bound list would hide the match from a generic plan.
WAITING = ("queued", "publishing", "retrying")
OUTCOMES = ("target.published", "target.attempt_failed", "target.failed", "target.dead_lettered")
# A post with a target still waiting for a publisher rolls up as queued or publishing
# (`domain.post.roll_up`): only those posts of the organization are read, not its history.
_POSTS_IN_FLIGHT = sa.text("posts.status IN ('queued', 'publishing')")
_OUTCOME_EVENTS = sa.text("post_events.type IN (" + ", ".join(f"'{t}'" for t in OUTCOMES) + ")")


async def waiting_targets(conn: AsyncConnection, org_id: str, mode: Mode) -> list[tuple[str, str, int]]:
    """(platform, status, targets) for the organization's targets due and not yet delivered."""
    rows = await conn.execute(
        sa.select(post_targets.c.platform, post_targets.c.status, sa.func.count())
        .join(posts, posts.c.id == post_targets.c.post_id)
        .where(posts.c.org_id == org_id, posts.c.mode == mode, _POSTS_IN_FLIGHT, post_targets.c.status.in_(WAITING))
        .group_by(post_targets.c.platform, post_targets.c.status)
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def outcomes_since(conn: AsyncConnection, org_id: str, mode: Mode, since: datetime) -> list[tuple[str, str, int]]:
    """(platform, event type, events) for the organization's delivery outcomes that happened
    since `since`, from the event store: every attempt counts, including one a later event had
    already overtaken. The index is on time, so this reads the installation's outcomes of the
    window (a minute's worth) and keeps the organization's."""
    target_id = post_events.c.data["target_id"].astext
    rows = await conn.execute(
        sa.select(post_targets.c.platform, post_events.c.type, sa.func.count())
        .select_from(
            post_events.join(posts, posts.c.id == post_events.c.post_id).join(
                post_targets, post_targets.c.id == target_id
            )
        )
        .where(_OUTCOME_EVENTS, post_events.c.occurred_at >= since, posts.c.org_id == org_id, posts.c.mode == mode)
        .group_by(post_targets.c.platform, post_events.c.type)
    )
    return [(r[0], r[1], r[2]) for r in rows]
