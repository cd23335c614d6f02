"""End-users: the customer's own users, whose id is the tenant_id of the accounts they connect."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters import accounts, end_users
from crier.connect.domain.accounts import known_platform
from crier.connect.handlers.accounts import disconnect
from crier.connect.handlers.context import Context
from crier.contracts import connect as api
from crier.contracts.common import Mode
from crier.kit.errors import Invalid, NotFound, Problem, collect

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def _problems(r: api.EndUserUpsert) -> list[Problem]:
    problems = []
    if not 0 < len(r.external_user_id) <= 255:
        problems.append(Problem("external_user_id", "invalid", "external_user_id must be 1-255 characters"))
    if r.email is not None and not _EMAIL.match(r.email):
        problems.append(Problem("email", "invalid_email", "email must look like name@domain"))
    if r.display_name is not None and len(r.display_name) > 255:
        problems.append(Problem("display_name", "too_long", "display_name must be at most 255 characters"))
    return problems


async def _public(conn: AsyncConnection, row: Any) -> api.EndUser:
    total, connected = await end_users.summary(conn, row.org_id, row.mode, row.external_user_id)
    return api.EndUser(
        id=row.external_user_id,
        external_user_id=row.external_user_id,
        display_name=row.display_name,
        email=row.email,
        metadata=dict(row.metadata),
        connection_summary=api.ConnectionSummary(total=total, connected=connected, failed=total - connected),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def upsert(ctx: Context, r: api.EndUserUpsert) -> api.EndUser:
    if problems := _problems(r):
        raise Invalid.of(problems)
    async with ctx.uow.begin() as tx:
        row = await end_users.upsert(
            tx.conn,
            org_id=r.org_id,
            mode=r.mode,
            external_user_id=r.external_user_id,
            display_name=r.display_name,
            email=r.email,
            metadata=r.metadata,
            now=ctx.now(),
        )
        return await _public(tx.conn, row)


async def _existing(conn: AsyncConnection, org_id: str, mode: Mode, external_user_id: str) -> Any:
    row = await end_users.get(conn, org_id, mode, external_user_id)
    if row is None:
        raise NotFound.of("end-user", external_user_id)
    return row


async def get(ctx: Context, r: api.EndUserRef) -> api.EndUser:
    async with ctx.uow.read() as conn:
        return await _public(conn, await _existing(conn, r.org_id, r.mode, r.external_user_id))


async def connections(ctx: Context, r: api.EndUserRef) -> api.Connections:
    async with ctx.uow.read() as conn:
        await _existing(conn, r.org_id, r.mode, r.external_user_id)
        rows = await accounts.of_tenant(conn, r.org_id, r.mode, r.external_user_id)
    return api.Connections(data=[accounts.public(row) for row in rows])


async def disconnect_platform(ctx: Context, r: api.EndUserDisconnect) -> api.Disconnected:
    problems: list[Problem] = []
    platform = collect(problems, lambda: known_platform(r.platform))
    if platform is None:
        raise Invalid.of(problems)
    async with ctx.uow.begin() as tx:
        await _existing(tx.conn, r.org_id, r.mode, r.external_user_id)
        rows = await accounts.of_tenant(tx.conn, r.org_id, r.mode, r.external_user_id, platform)
        gone = [await disconnect(ctx, tx, row.id) for row in rows]
    return api.Disconnected(
        external_user_id=r.external_user_id,
        platform=platform,
        disconnected_account_ids=[a.id for a in gone],
        accounts=gone,
    )
