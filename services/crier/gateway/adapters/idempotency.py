"""Idempotency keys: the first request with a key does the work, the repeats get its result.

A request that can do its work in one short transaction claims its key in that transaction, as done
(`claim_done`): a concurrent repeat waits for the commit and replays the result. Work that may take
long (fetching media by URL) claims the key first, committed, and holds it by a lease: until
`lease_expires_at`, which it renews while it runs (`handlers/idempotency_leases.py`). A request that
died with its gateway stops renewing, and the next request with the key takes the key over once that
lease has run out. Every claim has a `holder` id of its own, and finish, release and renew act only
for that holder: a request that stalled past its lease and lost its key to a successor can neither
finish nor release the key the successor now holds, so its post is not created a second time.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters.tables import idempotency_keys as keys
from crier.kit.errors import Conflict

KEEP = timedelta(hours=24)
IN_PROGRESS, DONE = "in_progress", "done"


@dataclass(frozen=True)
class Hold:
    """One claim on one key: what finishing, releasing and renewing it name."""

    org_id: str
    mode: Mode
    key: str
    holder: str


@dataclass(frozen=True)
class Claim:
    won: bool
    request_hash: str
    status: str
    post_id: str | None
    # Ours when won; the other request's otherwise.
    hold: Hold
    # While in progress: when the key frees if its holder stops renewing, and the whole seconds
    # until then by the database's clock (at least 1), which every replica agrees on.
    lease_expires_at: datetime | None = None
    frees_in_s: int = 1


class LeaseLost(Conflict):
    """The request outlived its lease and another request with the key took it over."""

    def __init__(self) -> None:
        super().__init__(
            "idempotency_in_progress",
            "this request stalled past its Idempotency-Key's lease and a retry with the key took it over; "
            "repeat the request to get that retry's answer",
        )


def _this(org_id: str, mode: Mode, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(keys.c.org_id == org_id, keys.c.mode == mode, keys.c.key == key)


def _held(hold: Hold) -> sa.ColumnElement[bool]:
    return sa.and_(_this(hold.org_id, hold.mode, hold.key), keys.c.holder == hold.holder, keys.c.status == IN_PROGRESS)


def taking(status: str, post_id: Any = None) -> Any:
    """Claims a new key, or takes over a forgotten or expired one, answering with `post_id` (an
    expression; the `post_id` parameter by default); built once per use, so its compiled form is
    cached. Of two retries racing for an expired key, the second waits on the first's row lock and
    then finds a live lease (or the first's result), so exactly one wins."""
    now = sa.func.now()
    fresh = insert(keys).values(
        org_id=sa.bindparam("org_id"),
        mode=sa.bindparam("mode"),
        key=sa.bindparam("key"),
        request_hash=sa.bindparam("request_hash"),
        status=status,
        post_id=sa.bindparam("post_id") if post_id is None else post_id,
        holder=sa.bindparam("holder"),
        created_at=now,
        lease_expires_at=now + sa.bindparam("lease", type_=sa.Interval()) if status == IN_PROGRESS else None,
    )
    return fresh.on_conflict_do_update(
        index_elements=[keys.c.org_id, keys.c.mode, keys.c.key],
        set_={
            c: fresh.excluded[c]
            for c in ("request_hash", "status", "post_id", "holder", "created_at", "lease_expires_at")
        },
        where=sa.or_(
            keys.c.created_at < now - KEEP,
            sa.and_(keys.c.status == IN_PROGRESS, keys.c.lease_expires_at < now),
        ),
    ).returning(keys.c.key)


_CLAIM, _CLAIM_DONE = taking(IN_PROGRESS), taking(DONE)


def claiming_done(when: str = "true") -> str:
    """`taking(DONE)` written out as SQL text, for a statement of text that claims a key as it
    writes the post answering it (`post_rows.CREATE_CLAIMING`): the same rules, with its parameters
    named `k_org_id`, `k_mode`, `k_key`, `k_request_hash`, `k_holder` and the post's id `p_id`. The
    key is claimed only if `when` (an SQL condition) holds: nothing is inserted otherwise."""
    return (
        "INSERT INTO idempotency_keys AS k"
        " (org_id, mode, key, request_hash, status, post_id, created_at, holder, lease_expires_at)"
        " SELECT CAST(:k_org_id AS text), CAST(:k_mode AS text), CAST(:k_key AS text),"
        f" CAST(:k_request_hash AS text), '{DONE}', CAST(:p_id AS text), now(), CAST(:k_holder AS text),"
        f" NULL::timestamptz WHERE {when}"
        " ON CONFLICT (org_id, mode, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
        " status = EXCLUDED.status, post_id = EXCLUDED.post_id, created_at = EXCLUDED.created_at,"
        " holder = EXCLUDED.holder, lease_expires_at = EXCLUDED.lease_expires_at"
        f" WHERE k.created_at < now() - make_interval(secs => {KEEP.total_seconds():.0f})"
        f" OR (k.status = '{IN_PROGRESS}' AND k.lease_expires_at < now())"
        " RETURNING k.key"
    )


_SEEN = sa.select(keys, sa.func.now().label("db_now")).where(
    keys.c.org_id == sa.bindparam("org_id"), keys.c.mode == sa.bindparam("mode"), keys.c.key == sa.bindparam("key")
)


async def claim(conn: AsyncConnection, org_id: str, mode: Mode, key: str, request_hash: str, lease: timedelta) -> Claim:
    """Run in its own transaction, committed before the work starts, so a concurrent repeat sees
    it: for work that may take long (fetching media), which the lease covers."""
    hold = Hold(org_id, mode, key, uuid.uuid4().hex)
    values = {"request_hash": request_hash, "post_id": None, "lease": lease}
    return await _claim(conn, _CLAIM, hold, values)


async def claim_done(
    conn: AsyncConnection, org_id: str, mode: Mode, key: str, request_hash: str, post_id: str
) -> Claim:
    """Claims the key as already done with `post_id`, in the transaction that creates the post (or
    finds it by its external_ref): for work short enough to hold one transaction. Nothing is
    visible before the commit, where the key and the post appear together; a concurrent repeat
    waits on the key's row lock until then and replays the result, or, if this transaction rolls
    back, claims the key itself. No lease: a gateway that dies takes its transaction with it."""
    hold = Hold(org_id, mode, key, uuid.uuid4().hex)
    return await _claim(conn, _CLAIM_DONE, hold, {"request_hash": request_hash, "post_id": post_id})


async def _claim(conn: AsyncConnection, statement: Any, hold: Hold, values: dict[str, Any]) -> Claim:
    for _ in range(3):
        if await conn.scalar(statement, {**_of(hold), "holder": hold.holder, **values}) is not None:
            return Claim(True, values["request_hash"], IN_PROGRESS if statement is _CLAIM else DONE, None, hold)
        lost = await held_by_another(conn, hold)
        if lost is not None:
            return lost
        # Released between the two statements: the key is free again, claim it afresh.
    raise Conflict(
        "idempotency_in_progress", "this Idempotency-Key is changing hands; retry shortly", {"retry_after_s": 1}
    )


def _of(hold: Hold) -> dict[str, Any]:
    return {"org_id": hold.org_id, "mode": hold.mode, "key": hold.key}


async def held_by_another(conn: AsyncConnection, hold: Hold) -> Claim | None:
    """After `hold` failed to claim its key: the claim that holds it, None if the key is free."""
    row = (await conn.execute(_SEEN, _of(hold))).one_or_none()
    if row is None:
        return None
    other = Hold(hold.org_id, hold.mode, hold.key, row.holder or "")
    if row.status != IN_PROGRESS or row.lease_expires_at is None:
        return Claim(False, row.request_hash, row.status, row.post_id, other)
    wait = math.ceil((row.lease_expires_at - row.db_now).total_seconds())
    return Claim(False, row.request_hash, row.status, row.post_id, other, row.lease_expires_at, max(1, wait))


async def renew(conn: AsyncConnection, hold: Hold, lease: timedelta) -> bool:
    """False once the claim is no longer this holder's to keep: finished, released or taken over."""
    renewed = await conn.scalar(
        keys.update().where(_held(hold)).values(lease_expires_at=sa.func.now() + lease).returning(keys.c.key)
    )
    return renewed is not None


async def finish(conn: AsyncConnection, hold: Hold, post_id: str) -> None:
    """Called in the transaction that creates the post: the key and the post commit together, or
    (`LeaseLost`, rolling the post back) neither does."""
    done = await conn.scalar(
        keys.update()
        .where(_held(hold))
        .values(status=DONE, post_id=post_id, lease_expires_at=None)
        .returning(keys.c.key)
    )
    if done is None:
        raise LeaseLost()


async def release(conn: AsyncConnection, hold: Hold) -> None:
    """The request failed: forget the key so the caller can fix the request and retry with it."""
    await conn.execute(keys.delete().where(_held(hold)))


async def purge_expired(conn: AsyncConnection) -> int:
    """Forget keys past their 24 hours: a repeat after that is a new request."""
    result = await conn.execute(keys.delete().where(keys.c.created_at < sa.func.now() - KEEP))
    return int(result.rowcount)
