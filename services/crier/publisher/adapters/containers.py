"""Where each container of a target stands: posted (`container_progress`), or sent with its outcome
not yet known (`container_sends`).

A send marker commits before the platform is called, and is replaced by the progress row in one
transaction once the platform answered; a marker without a progress row therefore means a call
whose answer never got recorded (a timeout, a crash), and the post may exist on the platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from asyncpg import Record
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.kit.direct_sql import DirectStatement, fetch
from crier.platforms.base import PublishedContainer
from crier.publisher.adapters import sandbox_ledger
from crier.publisher.adapters.tables import TS, container_progress, container_sends, container_stages

_now = sa.func.now(type_=TS)


@dataclass(frozen=True)
class Progress:
    # The containers on the platform, by index.
    posted: dict[int, PublishedContainer] = field(default_factory=dict)
    # The containers sent without a recorded answer, with when each was first sent.
    unsettled: dict[int, datetime] = field(default_factory=dict)
    # What the adapter saved of the containers under way (`adapters.stages`), by index.
    stages: dict[int, dict[str, Any]] = field(default_factory=dict)


def _null(type_: Any) -> Any:
    return sa.cast(sa.null(), type_)


# The three tables a delivery resumes from, read in one round trip: a row per container and table.
# The parameter is `p_target`, as in `targets`' statements: named after a column, it would become
# a SET of the attempt-start UPDATE this read is combined with (`targets.start_attempt`).
PROGRESS = sa.union_all(
    sa.select(
        sa.literal("posted").label("kind"),
        container_progress.c.container_index,
        container_progress.c.platform_post_id,
        container_progress.c.url,
        container_progress.c.notes,
        _null(TS).label("sent_at"),
        _null(postgresql.JSONB).label("state"),
    ).where(container_progress.c.target_id == sa.bindparam("p_target")),
    sa.select(
        sa.literal("sent"),
        container_sends.c.container_index,
        _null(sa.Text),
        _null(sa.Text),
        _null(ARRAY(sa.Text)),
        container_sends.c.sent_at,
        _null(postgresql.JSONB),
    ).where(container_sends.c.target_id == sa.bindparam("p_target")),
    sa.select(
        sa.literal("staged"),
        container_stages.c.container_index,
        _null(sa.Text),
        _null(sa.Text),
        _null(ARRAY(sa.Text)),
        _null(TS),
        container_stages.c.state,
    ).where(container_stages.c.target_id == sa.bindparam("p_target")),
)


_PROGRESS = DirectStatement(PROGRESS)


async def progress_of(conn: AsyncConnection, target_id: str) -> Progress:
    return progress_in(await fetch(conn, _PROGRESS, {"p_target": target_id}))


def progress_in(rows: Sequence[Record]) -> Progress:
    """The progress `PROGRESS`'s rows tell (by position: the union's later parts name its columns
    apart)."""
    posted = {r[1]: PublishedContainer(r[2], r[3], tuple(r[4])) for r in rows if r[0] == "posted"}
    unsettled = {r[1]: r[5] for r in rows if r[0] == "sent" and r[1] not in posted}
    staged = {r[1]: dict(r[6]) for r in rows if r[0] == "staged"}
    return Progress(posted, unsettled, staged)


# Built once, parameters bound at execution (see adapters.targets).
_target_id = sa.bindparam("p_target", type_=sa.Text)
_index = sa.bindparam("p_index", type_=sa.Integer)
_mark = pg_insert(container_sends).values(
    target_id=_target_id, container_index=_index, attempt=sa.bindparam("p_attempt", type_=sa.Integer), sent_at=_now
)
_MARK_SENT = DirectStatement(
    _mark.on_conflict_do_update(
        index_elements=[container_sends.c.target_id, container_sends.c.container_index],
        # `sent_at` stays the first send's: a post made since then may be any of the sends.
        set_={"attempt": _mark.excluded.attempt},
    )
)
# No ON CONFLICT: a second writer for the same container must fail and roll back whatever it
# posted in this transaction (the sandbox's post), never silently post twice.
PROGRESS_ROW = sa.insert(container_progress).values(
    target_id=_target_id,
    container_index=_index,
    platform_post_id=sa.bindparam("p_progress_post", type_=sa.Text),
    url=sa.bindparam("p_progress_url", type_=sa.Text),
    notes=sa.bindparam("p_progress_notes", type_=ARRAY(sa.Text)),
)
# The container's send marker, dropped with its progress row when it had one (`p_unmark`).
UNMARK = sa.delete(container_sends).where(
    container_sends.c.target_id == _target_id,
    container_sends.c.container_index == _index,
    sa.bindparam("p_unmark", type_=sa.Boolean),
)


def with_progress(statement: sa.Select[Any], *, ledger: bool) -> sa.Select[Any]:
    """`statement` recording a container's progress too: its row, its marker's removal and, with
    `ledger`, the sandbox post it queued (`sandbox_ledger`), all one change."""
    statement = statement.add_cte(PROGRESS_ROW.cte("progressed")).add_cte(UNMARK.cte("unmarked"))
    return statement.add_cte(sandbox_ledger.LEDGER_ROW.cte("ledgered")) if ledger else statement


# In one statement that commits by itself.
_RECORD_PROGRESS = {
    ledger: DirectStatement(with_progress(sa.select(sa.literal(1)), ledger=ledger)) for ledger in (False, True)
}


@dataclass(frozen=True)
class Posted:
    """A container the platform took: the progress row to record, and whether a send marker may
    stand for it (`marked`; a transactional adapter's post never had one); `ledger`: what a
    transactional adapter queued to commit with it (`PublishContext.commit_with_progress`)."""

    target_id: str
    index: int
    published: PublishedContainer
    marked: bool = True
    ledger: tuple[Any, ...] = ()

    def row(self) -> tuple[Any, ...]:
        """The progress as a statement of many takes it (`targets.record_successes`): the index,
        the platform's id and URL, the notes as JSON text, whether a marker may stand for it."""
        notes = msgspec.json.encode(list(self.published.notes)).decode()
        return self.index, self.published.platform_post_id, self.published.url, notes, self.marked

    def params(self) -> dict[str, Any]:
        """The parameters of `with_progress`'s rows (`record_progress`)."""
        params = {
            "p_target": self.target_id,
            "p_index": self.index,
            "p_progress_post": self.published.platform_post_id,
            "p_progress_url": self.published.url,
            "p_progress_notes": list(self.published.notes),
            "p_unmark": self.marked,
        }
        return params | sandbox_ledger.params(self.ledger) if self.ledger else params


async def mark_sent(conn: AsyncConnection, target_id: str, index: int, attempt: int) -> None:
    await fetch(conn, _MARK_SENT, {"p_target": target_id, "p_index": index, "p_attempt": attempt})


async def record_progress(conn: AsyncConnection, posted: Posted) -> None:
    await fetch(conn, _RECORD_PROGRESS[bool(posted.ledger)], posted.params())
