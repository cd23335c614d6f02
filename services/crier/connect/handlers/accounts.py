"""Connected accounts: list, get, disconnect, the live health probe, and sandbox accounts.

The live health probe asks the platform who the token belongs to, which also reads again what the
platform lets the account post (`AccountLimits`: a Mastodon instance's limit, which its operator may
change and which no token refresh ever brings, since Mastodon tokens are never refreshed). A change
is stored and announced (`evt.account.refreshed`), so the gateway checks new posts by it."""

from __future__ import annotations

from typing import Any

from crier.connect.adapters import accounts
from crier.connect.domain.accounts import (
    ACTIVE,
    check_tenant,
    check_username,
    due_for_refresh,
    known_platform,
    sandbox_network_id,
)
from crier.connect.domain.seals import token_context
from crier.connect.handlers.connecting import connected_event, disconnected_event, refreshed_event
from crier.connect.handlers.context import Context
from crier.connect.handlers.tokens import Refresh, expire, refresh
from crier.contracts import connect as api
from crier.contracts.common import AccountLimits
from crier.contracts.connect import CreateSandboxAccount, SocialAccount
from crier.kit.errors import Forbidden, Invalid, NotFound, Problem, collect
from crier.kit.pages import checked_limit
from crier.kit.uow import Transaction
from crier.platforms.oauth import AccessTokenInvalid, GrantRevoked, OAuthError, OAuthUnavailable


async def list_accounts(ctx: Context, r: api.AccountList) -> api.AccountPage:
    where = accounts.Filter(
        id=r.id, tenant_id=r.tenant_id, platform=r.platform, username=r.username, network_unique_id=r.network_unique_id
    )
    limit = checked_limit(r.limit)
    async with ctx.uow.read() as conn:
        page = await accounts.search(conn, r.org_id, r.mode, where, limit=limit, cursor=r.cursor)
    return api.AccountPage(data=page.rows, next_cursor=page.next_cursor)


async def get(ctx: Context, r: api.AccountRef) -> SocialAccount:
    async with ctx.uow.read() as conn:
        row = await accounts.get(conn, r.org_id, r.mode, r.id)
    if row is None:
        raise NotFound.of("social account", r.id)
    return accounts.public(row)


async def disconnect(ctx: Context, tx: Transaction, account_id: str) -> SocialAccount:
    """Soft delete with its event. Tokens are wiped, not revoked at the platform: several accounts
    (a user's Pages) can share one grant, and revoking it would cut off the others."""
    account = await accounts.soft_delete(tx.conn, account_id, ctx.now())
    tx.emit("evt.account.disconnected", disconnected_event(account))
    return account


async def delete(ctx: Context, r: api.AccountRef) -> api.AccountRemoved:
    async with ctx.uow.begin() as tx:
        if await accounts.get(tx.conn, r.org_id, r.mode, r.id) is None:
            raise NotFound.of("social account", r.id)
        account = await disconnect(ctx, tx, r.id)
    return api.AccountRemoved(account=account)


async def create_sandbox_account(ctx: Context, r: CreateSandboxAccount) -> SocialAccount:
    if r.mode != "test":
        raise Forbidden("test_mode_only", "sandbox accounts exist only in test mode")
    problems: list[Problem] = []
    platform = collect(problems, lambda: known_platform(r.platform))
    collect(problems, lambda: check_username(r.username))
    collect(problems, lambda: check_tenant(r.tenant_id))
    if platform is None or problems:
        raise Invalid.of(problems)
    async with ctx.uow.begin() as tx:
        account = await accounts.upsert(
            tx.conn,
            accounts.Connection(
                org_id=r.org_id,
                mode=r.mode,
                platform=platform,
                username=r.username,
                display_name=r.username,
                network_unique_id=sandbox_network_id(platform, r.username),
                tenant_id=r.tenant_id,
                account_type="account",
                sandbox=True,
            ),
            ctx.now(),
        )
        tx.emit("evt.account.connected", connected_event(account))
    return account


# Health


def _report(row: Any, *, healthy: bool, live: bool, error_code: str | None, ctx: Context) -> api.AccountHealth:
    return api.AccountHealth(
        id=row.id,
        network=row.platform,
        healthy=healthy,
        status=row.status,
        error_code=error_code,
        token_expires_at=row.token_expires_at,
        checked_live=live,
        checked_at=ctx.now(),
    )


async def _reload(ctx: Context, r: api.AccountRef) -> Any:
    async with ctx.uow.read() as conn:
        return await accounts.get(conn, r.org_id, r.mode, r.id)


async def health(ctx: Context, r: api.AccountRef) -> api.AccountHealth:
    row = await _reload(ctx, r)
    if row is None:
        raise NotFound.of("social account", r.id)
    if row.status != ACTIVE or row.access_token_enc is None:
        # Nothing to probe with (a disabled or expired account, a sandbox account made without OAuth).
        healthy = row.status == ACTIVE
        return _report(row, healthy=healthy, live=False, error_code=None if healthy else row.status, ctx=ctx)
    if row.refresh_token_enc is not None and due_for_refresh(
        row.token_expires_at, ctx.now(), ctx.settings.refresh_before_s
    ):
        outcome = await refresh(ctx, row.id, only_if_due=True)
        row = await _reload(ctx, r)
        if outcome is not Refresh.REFRESHED and outcome is not Refresh.NOT_DUE:
            return _report(row, healthy=False, live=True, error_code=_refresh_error(outcome, row), ctx=ctx)
    return await _probe(ctx, r, row, may_refresh=row.refresh_token_enc is not None)


async def _probe(ctx: Context, r: api.AccountRef, row: Any, *, may_refresh: bool) -> api.AccountHealth:
    oauth = ctx.providers.for_mode(row.platform, row.mode, subject=row.tenant_id, instance_url=row.instance_url)
    access = ctx.vault.open(
        row.access_token_enc, token_context(row.org_id, row.mode, row.platform, row.network_unique_id, "access")
    )
    assert access is not None
    try:
        found = await oauth.identity(access)
    except AccessTokenInvalid:
        if not may_refresh:
            return await _expire(ctx, r, row)
        outcome = await refresh(ctx, row.id, only_if_due=False)
        row = await _reload(ctx, r)
        if outcome is Refresh.REFRESHED:
            return await _probe(ctx, r, row, may_refresh=False)
        return _report(row, healthy=False, live=True, error_code=_refresh_error(outcome, row), ctx=ctx)
    except GrantRevoked:
        return await _expire(ctx, r, row)
    except OAuthUnavailable:
        return _report(row, healthy=False, live=True, error_code="platform_unavailable", ctx=ctx)
    except OAuthError as exc:
        return _report(row, healthy=False, live=True, error_code=exc.code, ctx=ctx)
    async with ctx.uow.begin() as tx:
        # Limits the platform would not say now (AccountLimits()) are no news: the known ones stay.
        if found.limits != AccountLimits() and found.limits != accounts.limits_of(row):
            changed = await accounts.store_limits(tx.conn, row.id, found.limits, ctx.now())
            tx.emit("evt.account.refreshed", refreshed_event(changed))
        else:
            await accounts.mark_synced(tx.conn, row.id, ctx.now())
    return _report(row, healthy=True, live=True, error_code=None, ctx=ctx)


async def _expire(ctx: Context, r: api.AccountRef, row: Any) -> api.AccountHealth:
    """The platform refused the token outright and there is nothing to renew it with."""
    await expire(ctx, row.id)
    row = await _reload(ctx, r)
    return _report(row, healthy=False, live=True, error_code="token_expired", ctx=ctx)


def _refresh_error(outcome: Refresh, row: Any) -> str:
    return {
        Refresh.REVOKED: "token_expired",
        Refresh.UNAVAILABLE: "platform_unavailable",
        Refresh.NO_APP: "no_credentials",
    }.get(outcome, "refresh_failed" if row.status == ACTIVE else row.status)
