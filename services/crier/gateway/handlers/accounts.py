"""The local read model of social accounts: kept current from connect's events and replies, and
read when connect is away."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crier.contracts import events as contract
from crier.contracts.connect import CreateSandboxAccount, SocialAccount
from crier.gateway.adapters import accounts
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.filters import AccountFilter
from crier.gateway.domain.validation import platform_named
from crier.gateway.handlers.context import Context
from crier.kit import pages
from crier.kit.errors import Forbidden, Invalid, NotFound, Problem, collect
from crier.kit.log import get

log = get(__name__)
TOKEN_EXPIRED = "token_expired"
AccountEvent = (
    contract.AccountConnected | contract.AccountDisconnected | contract.AccountTokenExpired | contract.AccountRefreshed
)


async def record_account_event(ctx: Context, event: AccountEvent) -> None:
    """Naturally idempotent: every write is guarded by updated_at, so replays and stale events are no-ops."""
    async with ctx.uow.begin() as tx:
        match event:
            case contract.AccountConnected():
                await accounts.upsert(tx.conn, _row(event, event.account_id, event.occurred_at))
            case contract.AccountDisconnected() | contract.AccountTokenExpired():
                gone = isinstance(event, contract.AccountDisconnected)
                await accounts.set_status(
                    tx.conn,
                    account_id=event.account_id,
                    org_id=event.org_id,
                    mode=event.mode,
                    platform=event.platform,
                    tenant_id=event.tenant_id,
                    status=accounts.DISABLED if gone else TOKEN_EXPIRED,
                    updated_at=event.updated_at,
                )
            case contract.AccountRefreshed():
                # What the platform lets the account post, read again (posts are checked by it).
                await accounts.set_limits(tx.conn, event.account_id, event.limits, event.updated_at)


async def hold_accounts(ctx: Context, replied: Sequence[SocialAccount]) -> None:
    """Hold what connect just changed at once, so the caller's next POST /posts sees it without
    waiting for the account event (which arrives later and, being no newer, changes nothing).
    Best effort: connect has committed, and its account event brings the same change shortly."""
    if not replied:
        return
    try:
        async with ctx.uow.begin() as tx:
            for account in replied:
                await accounts.upsert(tx.conn, _row(account, account.id, account.created_at))
    except Exception as exc:
        log.warning("gateway.account_hold_failed", error=type(exc).__name__)


def sandbox_account_request(
    who: Principal, *, platform: str, username: str, tenant_id: str | None
) -> CreateSandboxAccount:
    """What to ask connect for: a simulated account, which only a test-mode key may have."""
    if who.mode != "test":
        raise Forbidden("test_mode_only", "sandbox accounts can only be created with a sk_test_ key")
    problems: list[Problem] = []
    known = collect(problems, lambda: platform_named(platform))
    if known is None:
        raise Invalid.of(problems)
    return CreateSandboxAccount(org_id=who.org_id, mode="test", platform=known, username=username, tenant_id=tenant_id)


async def find_accounts(
    ctx: Context, who: Principal, where: AccountFilter, *, limit: int | None, cursor: str | None
) -> pages.Page[Any]:
    """From the read model, without what only connect knows (tokens' expiry, scopes, …)."""
    size = pages.checked_limit(limit)
    async with ctx.uow.read() as conn:
        return await accounts.search(conn, who.org_id, who.mode, where, limit=size, cursor=cursor)


async def get_account(ctx: Context, who: Principal, account_id: str) -> Any:
    async with ctx.uow.read() as conn:
        row = await accounts.get(conn, who.org_id, who.mode, account_id)
    if row is None:
        raise NotFound.of("social account", account_id)
    return row


def _row(account: SocialAccount | contract.AccountConnected, account_id: str, created_at: datetime) -> dict[str, Any]:
    return {
        "id": account_id,
        "org_id": account.org_id,
        "mode": account.mode,
        "platform": account.platform,
        "username": account.username,
        "display_name": account.display_name,
        "network_unique_id": account.network_unique_id,
        "tenant_id": account.tenant_id,
        "account_type": account.account_type,
        "status": account.status,
        "sandbox": account.sandbox,
        "created_at": created_at,
        "updated_at": account.updated_at,
        "max_characters": account.limits.max_characters,
    }
