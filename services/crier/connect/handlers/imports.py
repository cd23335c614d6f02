"""Imports of an account's existing posts: starting one, reading them, and keeping each job's
status from what the publisher reports (`evt.import.*`).

An account has at most one import queued or running. Asking for another meanwhile answers that one
(`created: False`), so a client that retries its request, or two that ask at once, get one import
and one `import.completed`, not two jobs racing through the same timeline.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from crier.connect.adapters import accounts
from crier.connect.adapters import imports as jobs
from crier.connect.domain.accounts import ACTIVE
from crier.connect.handlers.context import Context
from crier.contracts import imports as api
from crier.kit.errors import Conflict, Invalid, NotFound
from crier.kit.pages import checked_limit


async def start(ctx: Context, r: api.ImportStart) -> api.ImportAccepted:
    if r.limit is not None and not 1 <= r.limit <= api.MAX_IMPORT_LIMIT:
        raise Invalid.one("limit", "out_of_range", f"must be between 1 and {api.MAX_IMPORT_LIMIT}")
    now = ctx.now()
    if r.since is not None and r.since > now:
        raise Invalid.one("since", "in_future", "must not be in the future")
    async with ctx.uow.begin() as tx:
        account = await accounts.get(tx.conn, r.org_id, r.mode, r.account_id)
        if account is None:
            raise NotFound.of("social account", r.account_id)
        if account.status != ACTIVE:
            raise Conflict(
                "account_not_active",
                "the account must be active to import its posts; reconnect it first",
                {"status": account.status},
            )
        running = await jobs.active_for(tx.conn, account.id)
        if running is not None:
            return api.ImportAccepted(job=jobs.public(running), created=False)
        job = await jobs.create(
            tx.conn,
            {
                "id": f"imp_{uuid.uuid4().hex}",
                "org_id": r.org_id,
                "mode": r.mode,
                "account_id": account.id,
                "platform": account.platform,
                "tenant_id": account.tenant_id,
                "status": "queued",
                "since": r.since,
                "limit": r.limit,
                "created_at": now,
                "updated_at": now,
            },
        )
        if job is None:  # another request started one a moment ago
            running = await jobs.active_for(tx.conn, account.id)
            if running is None:
                raise Conflict("import_conflict", "another import of this account just ended; try again")
            return api.ImportAccepted(job=jobs.public(running), created=False)
        command = api.ImportPosts(
            id=job.id,
            occurred_at=now,
            org_id=r.org_id,
            mode=r.mode,
            import_id=job.id,
            account_id=account.id,
            platform=account.platform,
            account_username=account.username,
            tenant_id=account.tenant_id,
            since=r.since,
            limit=r.limit,
            sandbox=account.sandbox,
        )
        tx.emit(api.import_subject(account.platform), command)
    return api.ImportAccepted(job=jobs.public(job), created=True)


async def get(ctx: Context, r: api.ImportRef) -> api.Import:
    async with ctx.uow.read() as conn:
        row = await jobs.get(conn, r.org_id, r.mode, r.id)
    if row is None:
        raise NotFound.of("import", r.id)
    return jobs.public(row)


async def list_imports(ctx: Context, r: api.ImportList) -> api.ImportPage:
    limit = checked_limit(r.limit)
    async with ctx.uow.read() as conn:
        if await accounts.get(conn, r.org_id, r.mode, r.account_id) is None:
            raise NotFound.of("social account", r.account_id)
        page = await jobs.of_account(conn, r.org_id, r.mode, r.account_id, limit=limit, cursor=r.cursor)
    return api.ImportPage(data=[jobs.public(row) for row in page.rows], next_cursor=page.next_cursor)


async def record(ctx: Context, event: Any) -> None:
    """One report of the publisher's. Counts only grow (a page redelivered late cannot take them
    back), and a finished job keeps its outcome."""
    t = jobs.imports
    counts = {
        name: sa.func.greatest(t.c[name], getattr(event, name))
        for name in ("pages", "fetched", "imported")
        if hasattr(event, name)
    }
    async with ctx.uow.begin() as tx:
        match event:
            case api.ImportTimelineRead():
                return  # completed only once the gateway holds every post (its evt.import.completed)
            case api.ImportStarted():
                values: dict[str, Any] = {
                    "status": "running",
                    "started_at": sa.func.coalesce(t.c.started_at, event.occurred_at),
                }
                await jobs.update(tx.conn, event.import_id, event.occurred_at, **values)
            case api.ImportPageRead():
                await jobs.update(tx.conn, event.import_id, event.occurred_at, status="running", **counts)
            case api.ImportCompleted():
                await jobs.update(
                    tx.conn,
                    event.import_id,
                    event.occurred_at,
                    final=True,
                    status="completed",
                    skipped=event.skipped,
                    **counts,
                )
            case api.ImportFailed():
                await jobs.update(
                    tx.conn,
                    event.import_id,
                    event.occurred_at,
                    final=True,
                    status="failed",
                    error_code=event.error_code,
                    error_message=event.error_message,
                    **counts,
                )
