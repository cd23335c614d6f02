"""Hosted connect sessions: created by the customer's backend, opened by the end-user's browser."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from crier.connect.adapters import flows
from crier.connect.domain import flows as rules
from crier.connect.handlers import apps
from crier.connect.handlers.context import Context
from crier.connect.handlers.flows import flow_request, provider, start
from crier.contracts import connect as api
from crier.kit.errors import Conflict, Invalid, NotFound


async def create(ctx: Context, r: api.SessionCreate) -> api.ConnectSession:
    platform, instance_url = await flow_request(ctx, r.platform, r.tenant_id, r.instance_url)
    token, now = rules.new_secret(), ctx.now()
    async with ctx.uow.begin() as tx:
        await apps.require_allowlisted(tx.conn, r.org_id, r.mode, r.redirect_uri)
        # No app (or no single one): refuse now, not in the browser.
        await apps.app_for_flow(ctx, tx.conn, r.org_id, r.mode, platform, instance_url)
        provider(ctx, platform, r.mode, r.tenant_id)
        row = await flows.add_session(
            tx.conn,
            id=str(uuid.uuid4()),
            token_hash=rules.digest(token),
            org_id=r.org_id,
            mode=r.mode,
            platform=platform,
            tenant_id=r.tenant_id,
            redirect_uri=r.redirect_uri,
            instance_url=instance_url,
            status=rules.SESSION_PENDING,
            account_ids=[],
            expires_at=now + timedelta(seconds=ctx.settings.connect_session_ttl_s),
            created_at=now,
            updated_at=now,
        )
    connect_url = rules.with_params(f"{ctx.public_url}/connect/start", session=token)
    return flows.public_session(row, rules.SESSION_PENDING, connect_url=connect_url)


async def get(ctx: Context, r: api.SessionRef) -> api.ConnectSession:
    async with ctx.uow.read() as conn:
        row = await flows.session(conn, r.org_id, r.mode, r.id)
    if row is None:
        raise NotFound.of("connect session", r.id)
    return flows.public_session(row, rules.session_status(row.status, row.expires_at, ctx.now()))


async def hosted_open(ctx: Context, r: api.HostedToken) -> api.HostedSession:
    async with ctx.uow.read() as conn:
        row = await flows.session_by_token(conn, rules.digest(r.token))
        if row is None:
            raise NotFound("not_found", "this connect link is not valid")
        status = rules.session_status(row.status, row.expires_at, ctx.now())
        try:
            name = (await apps.app_for_flow(ctx, conn, row.org_id, row.mode, row.platform, row.instance_url)).name
        except Invalid:  # the app is gone since the session was made; the begin step will say so
            name = row.platform
    return api.HostedSession(
        id=row.id,
        platform=row.platform,
        status=status,
        app_name=name,
        sandbox=row.mode == "test",
        expires_at=row.expires_at,
    )


async def hosted_begin(ctx: Context, r: api.HostedToken) -> api.AuthUrl:
    async with ctx.uow.read() as conn:
        row = await flows.session_by_token(conn, rules.digest(r.token))
    if row is None:
        raise NotFound("not_found", "this connect link is not valid")
    status = rules.session_status(row.status, row.expires_at, ctx.now())
    if status != rules.SESSION_PENDING:
        raise Conflict("session_not_pending", f"this connect session is {status.replace('_', ' ')}", {"status": status})
    return await _start_flow(ctx, row)


async def hosted_retry(ctx: Context, r: api.StateRef) -> api.AuthUrl:
    """Another attempt at a hosted session that failed (the user denied, the platform erred), from
    the error page that the failed attempt's state led to; the session must not have expired."""
    async with ctx.uow.begin() as tx:
        state = await flows.state(tx.conn, rules.digest(r.state))
        row = await flows.session_by_id(tx.conn, state.connect_session_id if state else None)
        if row is None:
            raise NotFound("not_found", "this connect link is not valid")
        now = ctx.now()
        # A failed session keeps reading `failed` past its expiry; for a retry, its time is what is up.
        status = rules.SESSION_EXPIRED if row.expires_at <= now else row.status
        if status != rules.SESSION_PENDING and not await flows.reopen_session(tx.conn, row.id, now):
            raise Conflict(
                "session_not_pending", f"this connect session is {status.replace('_', ' ')}", {"status": status}
            )
    return await _start_flow(ctx, row)


async def _start_flow(ctx: Context, row: Any) -> api.AuthUrl:
    """The platform's authorization URL for a hosted session's next attempt."""
    return await start(
        ctx,
        org_id=row.org_id,
        mode=row.mode,
        platform=row.platform,
        tenant_id=row.tenant_id,
        redirect_uri=row.redirect_uri,
        connect_session_id=row.id,
        instance_url=row.instance_url,
    )
