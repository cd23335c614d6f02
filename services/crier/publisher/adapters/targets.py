"""The `targets`, `attempts` and `canceled_targets` tables.

Every function takes the caller's connection: the caller owns the transaction, so a state change
and the event announcing it commit together. Time is Postgres' own clock, so replicas with skewed
clocks agree on when a backoff ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from asyncpg import Record
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.commands import PublishTarget
from crier.contracts.common import TargetStatus
from crier.kit.bus import outbox
from crier.kit.bus.outbox import OutboxMessage
from crier.kit.direct_sql import DirectStatement, fetch
from crier.kit.uow import Transaction, UnitOfWork
from crier.platforms.base import PublishedContainer
from crier.publisher.adapters import containers, sandbox_ledger
from crier.publisher.adapters.tables import TS, attempts, canceled_targets, targets
from crier.publisher.domain.target import TERMINAL, Target

_now = sa.func.now(type_=TS)
_clock = sa.func.clock_timestamp(type_=TS)


def _state(target_id: sa.BindParameter[str]) -> tuple[Any, ...]:
    return (
        targets.c.target_id,
        targets.c.status,
        targets.c.failed_attempts,
        targets.c.last_attempt,
        targets.c.redrive,
        sa.func.greatest(0, sa.extract("epoch", targets.c.retry_at - _clock)).label("retry_wait_s"),
        sa.extract("epoch", _clock - targets.c.rate_limited_since).label("rate_limited_for_s"),
        sa.extract("epoch", _clock - targets.c.processing_since).label("processing_for_s"),
        targets.c.waiting_on_processing,
        # Read with the lock rather than asked apart: one round trip less per delivery. By the
        # target id given rather than correlated: an INSERT's RETURNING does not correlate.
        sa.exists().where(canceled_targets.c.target_id == target_id).label("canceled"),
    )


# Created on the first command, or "updated" to itself on every later one: either way the row comes
# back locked, with its state, in the one round trip (an INSERT … DO NOTHING then a SELECT … FOR
# UPDATE took two: a profile of sandbox deliveries had each statement at ~3 % of the CPU).
_CLAIM = DirectStatement(
    pg_insert(targets)
    .values(
        {
            **{
                c: sa.bindparam(f"p_{c}", type_=targets.c[c].type)
                for c in ("target_id", "post_id", "org_id", "mode", "platform", "redrive")
            },
            "status": "publishing",
            "failed_attempts": 0,
            "last_attempt": 0,
        }
    )
    .on_conflict_do_update(index_elements=[targets.c.target_id], set_={"status": targets.c.status})
    .returning(*_state(sa.bindparam("p_target_id")))
)
_LOCK = DirectStatement(
    sa.select(*_state(sa.bindparam("p_target", type_=sa.Text)))
    .where(targets.c.target_id == sa.bindparam("p_target", type_=sa.Text))
    .with_for_update()
)
# The statements a delivery runs are built once, here, with their parameters bound at execution:
# built per call, SQLAlchemy's statement construction and cache keys were a fifth of a sandbox
# delivery's CPU in a py-spy profile. Every delivery runs them: on the driver directly
# (`kit.direct_sql`), compiled once.
_target_id = sa.bindparam("p_target", type_=sa.Text)
_THIS_ATTEMPT = (
    attempts.c.target_id == _target_id,
    attempts.c.redrive == sa.bindparam("p_redrive", type_=sa.Integer),
    attempts.c.number == sa.bindparam("p_number", type_=sa.Integer),
)
# The attempt's row (begun, or begun again when its first delivery died mid-way) in a CTE of the
# target's update: one statement, one round trip.
_START_ATTEMPT = (
    sa.update(targets)
    .add_cte(
        pg_insert(attempts)
        .values(target_id=_target_id, redrive=sa.bindparam("p_redrive"), number=sa.bindparam("p_number"))
        .on_conflict_do_update(
            index_elements=[attempts.c.target_id, attempts.c.redrive, attempts.c.number],
            set_={"deliveries": attempts.c.deliveries + 1, "started_at": _now},
        )
        .cte("started")
    )
    .where(targets.c.target_id == _target_id)
    .values(status="publishing", last_attempt=sa.bindparam("p_number"), waiting_on_processing=False, updated_at=_now)
)
# The attempt begun and the progress read (`containers.PROGRESS`) in one statement, one round trip
# less per delivery: the attempt's writes touch none of the tables the progress is read from.
_STARTED_WITH_PROGRESS = DirectStatement(
    containers.PROGRESS.add_cte(_START_ATTEMPT.cte("attempt_started")).add_cte(outbox.insert_arrays_cte("announced"))
)
# New targets' deliveries started by one statement committed by itself: for each, its row created
# already publishing its first attempt, that attempt begun and the messages announcing it queued;
# where a claim and a start in a transaction took four round trips. The deliveries that start while
# one such statement is on its way start together in the next (`NewStart`, `start_new`). Nothing is
# written for a target whose row exists (a redelivery, a redrive, a later attempt) or that was
# canceled before its command: those are decided under the row's lock (`claim`). The cancellations
# are read by their key (`= ANY`), whatever the age of the plan (see `_PUBLISHED`).
_START_NEW = DirectStatement(
    "WITH asked AS ("
    " SELECT * FROM unnest(CAST(:p_target_id AS text[]), CAST(:p_post_id AS text[]), CAST(:p_org_id AS text[]),"
    " CAST(:p_mode AS text[]), CAST(:p_platform AS text[]), CAST(:p_redrive AS integer[]))"
    " AS a(target_id, post_id, org_id, mode, platform, redrive)"
    "), new AS ("
    " INSERT INTO targets (target_id, post_id, org_id, mode, platform, redrive, status, failed_attempts,"
    " last_attempt, waiting_on_processing)"
    " SELECT a.target_id, a.post_id, a.org_id, a.mode, a.platform, a.redrive, 'publishing', 0, 1, false FROM asked a"
    " WHERE NOT EXISTS (SELECT 1 FROM canceled_targets c"
    " WHERE c.target_id = ANY(CAST(:p_target_id AS text[])) AND c.target_id = a.target_id)"
    " ON CONFLICT (target_id) DO NOTHING RETURNING target_id, redrive"
    "), attempt AS ("
    " INSERT INTO attempts (target_id, redrive, number) SELECT target_id, redrive, 1 FROM new"
    f"), announced AS ({outbox.insert_arrays(when='m.owner IN (SELECT target_id FROM new)', owned=True)}"
    ") SELECT target_id FROM new"
)
_FINISH_ATTEMPT = DirectStatement(
    sa.update(attempts)
    .where(*_THIS_ATTEMPT)
    .values(
        finished_at=_now,
        outcome=sa.bindparam("p_outcome", type_=sa.Text),
        error_code=sa.bindparam("p_error_code", type_=sa.Text),
        error_message=sa.bindparam("p_error_message", type_=sa.Text),
        retry_in_s=sa.bindparam("p_retry_in_s", type_=sa.Float),
    )
)
# Targets published, each unless it is finished already or a redrive replaced its generation (its
# row locked as it is read), and then its attempt finished so, the messages announcing it queued and
# its stages dropped (`a.staged`: it may have some); with the last container's progress (`a.idx`
# set), that row recorded and the container's send marker dropped whatever the target's state, and
# the sandbox posts queued with it (`l`). One statement for the successes recorded while another is
# on its way (`record_successes`); where a read locked the row, one round trip less. A container's
# notes and a sandbox post's media, lists of their own, travel as JSON text. Each table is reached
# through its key by `= ANY` of the targets' ids as well as joined to them: a join alone let a plan
# cached while the tables were small scan them whole (auto_explain: a seq scan of `targets` per
# batch, 3 ms a statement at 15,000 targets).
_PUBLISHED = DirectStatement(
    "WITH asked AS ("
    " SELECT * FROM unnest(CAST(:s_target AS text[]), CAST(:s_redrive AS integer[]), CAST(:s_number AS integer[]),"
    " CAST(:s_post AS text[]), CAST(:s_url AS text[]), CAST(:s_staged AS boolean[]), CAST(:g_index AS integer[]),"
    " CAST(:g_post AS text[]), CAST(:g_url AS text[]), CAST(:g_notes AS text[]), CAST(:g_unmark AS boolean[]))"
    " AS a(target_id, redrive, number, post, url, staged, idx, progress_post, progress_url, notes, unmark)"
    "), marked AS ("
    " UPDATE targets t SET status = 'published', retry_at = NULL, platform_post_id = a.post, url = a.url,"
    " error_code = NULL, error_message = NULL, updated_at = now()"
    " FROM asked a WHERE t.target_id = ANY(CAST(:s_target AS text[])) AND t.target_id = a.target_id"
    " AND t.redrive = a.redrive"
    f" AND t.status NOT IN ({', '.join(repr(status) for status in sorted(TERMINAL))})"
    " RETURNING t.target_id"
    "), finished AS ("
    " UPDATE attempts x SET finished_at = now(), outcome = 'published', error_code = NULL, error_message = NULL,"
    " retry_in_s = NULL FROM asked a"
    " WHERE x.target_id = ANY(CAST(:s_target AS text[])) AND x.target_id = a.target_id"
    " AND x.redrive = a.redrive AND x.number = a.number"
    " AND a.target_id IN (SELECT target_id FROM marked)"
    f"), announced AS ({outbox.insert_arrays(when='m.owner IN (SELECT target_id FROM marked)', owned=True)}"
    "), unstaged AS ("
    " DELETE FROM container_stages s USING asked a"
    " WHERE s.target_id = ANY(CAST(:s_target AS text[])) AND s.target_id = a.target_id AND a.staged"
    " AND a.target_id IN (SELECT target_id FROM marked)"
    "), progressed AS ("
    " INSERT INTO container_progress (target_id, container_index, platform_post_id, url, notes)"
    " SELECT a.target_id, a.idx, a.progress_post, a.progress_url,"
    " ARRAY(SELECT jsonb_array_elements_text(CAST(a.notes AS jsonb))) FROM asked a WHERE a.idx IS NOT NULL"
    "), unmarked AS ("
    " DELETE FROM container_sends s USING asked a"
    " WHERE s.target_id = ANY(CAST(:s_target AS text[])) AND s.target_id = a.target_id"
    " AND s.container_index = a.idx AND a.unmark"
    f"), ledgered AS ({sandbox_ledger.INSERT_ARRAYS}"
    ") SELECT target_id FROM marked"
)
_SET_STATUS = DirectStatement(
    sa.update(targets)
    .where(targets.c.target_id == _target_id)
    .values(status=sa.bindparam("p_status", type_=sa.Text), updated_at=_now)
)
# An interval parameter that is NULL leaves NULL: no retry time.
_retry_at = _clock + sa.bindparam("p_retry_in", type_=sa.Interval)
_RECORD_FAILURE = DirectStatement(
    sa.update(targets)
    .where(targets.c.target_id == _target_id)
    .values(
        status=sa.bindparam("p_status", type_=sa.Text),
        failed_attempts=sa.bindparam("p_failed", type_=sa.Integer),
        error_code=sa.bindparam("p_error_code", type_=sa.Text),
        error_message=sa.bindparam("p_error_message", type_=sa.Text),
        retry_at=_retry_at,
        # A rate limit starts the rate-limit deadline's clock, if it is not running yet.
        rate_limited_since=sa.case(
            (sa.bindparam("p_rate_limited", type_=sa.Boolean), sa.func.coalesce(targets.c.rate_limited_since, _clock)),
            else_=targets.c.rate_limited_since,
        ),
        updated_at=_now,
    )
)
_WAIT_ON_PROCESSING = DirectStatement(
    sa.update(targets)
    .where(targets.c.target_id == _target_id)
    .values(
        waiting_on_processing=True,
        processing_since=sa.func.coalesce(targets.c.processing_since, _clock),
        retry_at=_retry_at,
        updated_at=_now,
    )
)


async def claim(conn: AsyncConnection, cmd: PublishTarget) -> Target:
    """The target's row, created on its first command and locked until the transaction ends, so
    two deliveries of one target (a redelivery racing a slow replica) decide one at a time."""
    (row,) = await fetch(conn, _CLAIM, _row_params(cmd))
    return _target(row)


@dataclass(frozen=True)
class NewStart:
    """A target the publisher has never seen, to start (`start_new`): its command, and the messages
    announcing its first attempt as the statement queues them, their trace context the delivery's."""

    cmd: PublishTarget
    announce: Sequence[OutboxMessage]
    queued: dict[str, list[Any]]

    @classmethod
    def of(cls, cmd: PublishTarget, announce: Sequence[OutboxMessage]) -> NewStart:
        return cls(cmd, announce, outbox.owned_array_params(announce, cmd.target_id))


async def start_new(uow: UnitOfWork, starts: Sequence[NewStart]) -> list[bool]:
    """New targets' rows, and their first attempts begun with the messages announcing them, in one
    statement committed by itself; for each, whether it started. False, with nothing written for
    it, when its row exists or it was canceled first (see `claim`). One start per target."""
    params = _side_by_side([{**_arrays(_row_params(s.cmd)), **s.queued} for s in starts])
    async with uow.autocommit() as tx:
        started = {row["target_id"] for row in await fetch(tx.conn, _START_NEW, params)}
        tx.wrote([m for s in starts if s.cmd.target_id in started for m in s.announce])
    return [s.cmd.target_id in started for s in starts]


def _row_params(cmd: PublishTarget) -> dict[str, object]:
    """The target's row as the command gives it, for the statements that create it."""
    return {
        "p_target_id": cmd.target_id,
        "p_post_id": cmd.post_id,
        "p_org_id": cmd.org_id,
        "p_mode": cmd.mode,
        "p_platform": cmd.platform,
        "p_redrive": cmd.redrive,
    }


async def lock(conn: AsyncConnection, target_id: str) -> Target:
    (row,) = await fetch(conn, _LOCK, {"p_target": target_id})
    return _target(row)


def _target(row: Record) -> Target:
    return Target(
        row["target_id"],
        row["status"],
        row["failed_attempts"],
        retry_wait_s=float(row["retry_wait_s"] or 0),
        last_attempt=row["last_attempt"],
        rate_limited_for_s=None if row["rate_limited_for_s"] is None else float(row["rate_limited_for_s"]),
        redrive=row["redrive"],
        processing_for_s=None if row["processing_for_s"] is None else float(row["processing_for_s"]),
        waiting_on_processing=row["waiting_on_processing"],
        canceled=row["canceled"],
    )


async def start_generation(conn: AsyncConnection, target_id: str, redrive: int) -> None:
    """The target goes out again as generation `redrive`: no attempt begun, none failed, no
    backoff, no rate limit and no processing deadline running. Its container progress, send
    markers and stages stay, so the new delivery resumes after what already reached the platform
    and never posts (or uploads) it again."""
    await conn.execute(
        sa.update(targets)
        .where(targets.c.target_id == target_id)
        .values(
            redrive=redrive,
            status="queued",
            failed_attempts=0,
            last_attempt=0,
            rate_limited_since=None,
            processing_since=None,
            waiting_on_processing=False,
            retry_at=None,
            error_code=None,
            error_message=None,
            updated_at=_now,
        )
    )


async def record_cancellations(conn: AsyncConnection, post_id: str, target_ids: list[str]) -> None:
    if target_ids:
        await conn.execute(
            pg_insert(canceled_targets).on_conflict_do_nothing(),
            [{"target_id": t, "post_id": post_id} for t in target_ids],
        )


async def start_attempt(
    tx: Transaction, target_id: str, redrive: int, number: int, announce: Sequence[OutboxMessage] = ()
) -> containers.Progress:
    """Attempt `number` of generation `redrive` begins, or begins again when its first delivery
    died mid-way, with the messages announcing it; and where the target's containers stand, read in
    the same statement."""
    rows = await fetch(
        tx.conn,
        _STARTED_WITH_PROGRESS,
        {"p_target": target_id, "p_redrive": redrive, "p_number": number, **outbox.array_params(announce)},
    )
    tx.wrote(announce)
    return containers.progress_in(rows)


async def wait_on_processing(conn: AsyncConnection, target_id: str, retry_in_s: float) -> None:
    """The open attempt stops until the platform has processed what it needs: it stays open (the
    target `publishing`), the processing deadline's clock starts if it is not running yet, and a
    redelivery before `retry_in_s` has passed is sent back to wait the rest."""
    await fetch(conn, _WAIT_ON_PROCESSING, {"p_target": target_id, "p_retry_in": timedelta(seconds=retry_in_s)})


async def finish_attempt(
    conn: AsyncConnection,
    target_id: str,
    redrive: int,
    number: int,
    outcome: TargetStatus,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    retry_in_s: float | None = None,
) -> None:
    await fetch(
        conn,
        _FINISH_ATTEMPT,
        {
            "p_target": target_id,
            "p_redrive": redrive,
            "p_number": number,
            "p_outcome": outcome,
            "p_error_code": error_code,
            "p_error_message": error_message,
            "p_retry_in_s": retry_in_s,
        },
    )


async def set_status(conn: AsyncConnection, target_id: str, status: TargetStatus) -> None:
    await fetch(conn, _SET_STATUS, {"p_target": target_id, "p_status": status})


async def record_failure(
    conn: AsyncConnection,
    target_id: str,
    *,
    status: TargetStatus,
    failed_attempts: int,
    error_code: str,
    error_message: str,
    retry_in_s: float | None,
    rate_limited: bool = False,
) -> None:
    """`rate_limited` starts the rate-limit deadline's clock, if it is not running yet."""
    await fetch(
        conn,
        _RECORD_FAILURE,
        {
            "p_target": target_id,
            "p_status": status,
            "p_failed": failed_attempts,
            "p_error_code": error_code,
            "p_error_message": error_message,
            "p_retry_in": None if retry_in_s is None else timedelta(seconds=retry_in_s),
            "p_rate_limited": rate_limited,
        },
    )


@dataclass(frozen=True)
class Success:
    """A target's success to record (`record_successes`): with `posted`, its last container's
    progress too; the messages announcing it as the statement queues them, their trace context the
    delivery's."""

    target_id: str
    root: PublishedContainer
    redrive: int
    attempt: int
    announce: Sequence[OutboxMessage]
    queued: dict[str, list[Any]]
    posted: containers.Posted | None = None
    staged: bool = False

    @classmethod
    def of(
        cls,
        target_id: str,
        root: PublishedContainer,
        *,
        redrive: int,
        attempt: int,
        announce: Sequence[OutboxMessage],
        posted: containers.Posted | None = None,
        staged: bool = False,
    ) -> Success:
        queued = outbox.owned_array_params(announce, target_id)
        return cls(target_id, root, redrive, attempt, announce, queued, posted, staged)


async def record_successes(uow: UnitOfWork, successes: Sequence[Success]) -> list[bool]:
    """The targets published, their attempts finished so, the messages announcing them queued and
    their stages dropped; with `posted`, the last container's progress recorded too, whatever the
    target's state: one statement committed by itself. For each, False, with nothing of its success
    written, when the target was finished already or its generation is no longer its own. One
    success per target."""
    params = _side_by_side([_success_arrays(s) for s in successes])
    async with uow.autocommit() as tx:
        marked = {row["target_id"] for row in await fetch(tx.conn, _PUBLISHED, params)}
        tx.wrote([m for s in successes if s.target_id in marked for m in s.announce])
    return [s.target_id in marked for s in successes]


def _success_arrays(s: Success) -> dict[str, list[Any]]:
    """One success's part of `_PUBLISHED`'s arrays: its row, its messages, its sandbox posts."""
    progress = s.posted.row() if s.posted is not None else _NO_PROGRESS
    row = (s.target_id, s.redrive, s.attempt, s.root.platform_post_id, s.root.url, s.staged, *progress)
    ledger = sandbox_ledger.array_params(s.posted.ledger if s.posted is not None else ())
    return {**_arrays(dict(zip(_SUCCESS_COLUMNS, row, strict=True))), **s.queued, **ledger}


def _arrays(row: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {name: [value] for name, value in row.items()}


def _side_by_side(parts: Sequence[Mapping[str, list[Any]]]) -> dict[str, list[Any]]:
    """The parameters of a statement made for many items from one array per column: each item's
    part (a list per column) after the one before it."""
    return {name: [value for part in parts for value in part[name]] for name in parts[0]}


_SUCCESS_COLUMNS = (
    *("s_target", "s_redrive", "s_number", "s_post", "s_url", "s_staged"),
    *("g_index", "g_post", "g_url", "g_notes", "g_unmark"),
)
_NO_PROGRESS = (None, None, None, None, False)
