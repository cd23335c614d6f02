"""The first statement of a create, in one round trip: which post already holds the request's
external_ref, the accounts the post names that it may target (`accounts.usable`'s rows), and its
Idempotency-Key, if it has one: whether it is held (`read`), or claimed as done with the post it
answers with, that post or the new one's id (`claim`). See `idempotency.claim_done` for why
claiming it as done is safe."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters import idempotency
from crier.gateway.adapters.accounts import ACTIVE
from crier.gateway.adapters.tables import accounts, posts
from crier.gateway.adapters.tables import idempotency_keys as keys
from crier.kit.direct_sql import DirectStatement, fetch

_REF_HOLDER = (
    sa.select(posts.c.id)
    .where(
        posts.c.org_id == sa.bindparam("org_id"),
        posts.c.mode == sa.bindparam("mode"),
        posts.c.external_ref == sa.bindparam("external_ref"),
        posts.c.canceled_at.is_(None),
    )
    .scalar_subquery()
)
_CLAIM = idempotency.taking(idempotency.DONE, sa.func.coalesce(_REF_HOLDER, sa.bindparam("post_id"))).cte("claim")
_USABLE = (
    sa.select(sa.func.coalesce(sa.func.json_agg(sa.literal_column("accounts")), sa.text("'[]'::json")))
    .select_from(accounts)
    .where(
        accounts.c.id == sa.func.any(sa.bindparam("account_ids", type_=ARRAY(sa.Text))),
        accounts.c.org_id == sa.bindparam("org_id"),
        accounts.c.mode == sa.bindparam("mode"),
        accounts.c.status == ACTIVE,
    )
    .scalar_subquery()
)
# Every create with a key runs it: on the driver directly (see `kit.direct_sql`).
_STATEMENT = DirectStatement(
    sa.select(
        _REF_HOLDER.label("ref_holder"),
        sa.select(_CLAIM.c.key).scalar_subquery().label("claimed"),
        _USABLE.label("usable"),
    )
)


# What a create in two statements reads first, claiming nothing: the external_ref's holder, whether
# the key is held (claimed and neither forgotten nor left by a dead request: `idempotency.taking`'s
# rules; never, for a create without a key), and the usable accounts. Its claim goes with its write
# (`post_rows.CREATE_CLAIMING`).
_KEY_HELD = sa.exists().where(
    keys.c.org_id == sa.bindparam("org_id"),
    keys.c.mode == sa.bindparam("mode"),
    keys.c.key == sa.bindparam("key"),
    keys.c.created_at >= sa.func.now() - idempotency.KEEP,
    sa.or_(
        keys.c.status != idempotency.IN_PROGRESS,
        keys.c.lease_expires_at.is_(None),
        keys.c.lease_expires_at >= sa.func.now(),
    ),
)
_READ = DirectStatement(
    sa.select(_REF_HOLDER.label("ref_holder"), _KEY_HELD.label("key_held"), _USABLE.label("usable"))
)


@dataclass(frozen=True)
class Read:
    ref_holder: str | None
    key_held: bool
    usable: dict[str, Any]


async def read(
    conn: AsyncConnection,
    org_id: str,
    mode: Mode,
    *,
    key: str | None,
    external_ref: str | None,
    account_ids: list[str],
) -> Read:
    values = {"org_id": org_id, "mode": mode, "key": key, "external_ref": external_ref, "account_ids": account_ids}
    (row,) = await fetch(conn, _READ, values)
    return Read(row["ref_holder"], row["key_held"], {a["id"]: SimpleNamespace(**a) for a in _json(row["usable"])})


@dataclass(frozen=True)
class Begun:
    # The post holding the external_ref, if one does.
    ref_holder: str | None
    claim: idempotency.Claim
    # The usable accounts among those asked for, by id, with the columns checks and the create read.
    usable: dict[str, Any]


async def claim(
    conn: AsyncConnection,
    org_id: str,
    mode: Mode,
    *,
    key: str,
    request_hash: str,
    external_ref: str | None,
    post_id: str,
    account_ids: list[str],
) -> Begun:
    hold = idempotency.Hold(org_id, mode, key, uuid.uuid4().hex)
    values: dict[str, Any] = {
        "org_id": org_id,
        "mode": mode,
        "key": key,
        "request_hash": request_hash,
        "holder": hold.holder,
        "external_ref": external_ref,
        "post_id": post_id,
        "account_ids": account_ids,
    }
    (row,) = await fetch(conn, _STATEMENT, values)
    ref_holder = row["ref_holder"]
    usable = {a["id"]: SimpleNamespace(**a) for a in _json(row["usable"])}
    if row["claimed"] is not None:
        return Begun(ref_holder, idempotency.Claim(True, request_hash, idempotency.DONE, None, hold), usable)
    lost = await idempotency.held_by_another(conn, hold)
    if lost is None:  # released between the two statements: claim it the long way
        lost = await idempotency.claim_done(conn, org_id, mode, key, request_hash, ref_holder or post_id)
    return Begun(ref_holder, lost, usable)


def _json(value: Any) -> list[dict[str, Any]]:
    """json_agg's rows, whether the driver decoded the JSON or handed over its text."""
    rows: list[dict[str, Any]] = json.loads(value) if isinstance(value, str | bytes) else value
    return rows
