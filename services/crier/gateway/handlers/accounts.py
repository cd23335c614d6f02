"""Keeping the local account read model current, and creating sandbox accounts through connect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts import events as contract
from crier.contracts.connect import CreateSandboxAccount, SANDBOX_ACCOUNTS_CREATE, SocialAccount
from crier.gateway.adapters import accounts
from crier.gateway.domain.api_key import Principal
from crier.kit.bus import Bus, rpc

DISCONNECTED_STATUS = accounts.DISABLED
TOKEN_EXPIRED_STATUS = "token_expired"


def _row(account: SocialAccount | contract.AccountConnected, created_at: Any) -> dict[str, Any]:
    is_event = isinstance(account, contract.AccountConnected)
    return {
        "id": account.account_id if is_event else account.id,
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
    }


async def account_event(engine: AsyncEngine, event: contract.Message) -> None:
    """Naturally idempotent: every write is guarded by updated_at, so replays and stale events are no-ops."""
    async with engine.begin() as conn:
        match event:
            case contract.AccountConnected():
                await accounts.upsert(conn, _row(event, event.occurred_at))
            case contract.AccountDisconnected() | contract.AccountTokenExpired():
                gone = isinstance(event, contract.AccountDisconnected)
                status = DISCONNECTED_STATUS if gone else TOKEN_EXPIRED_STATUS
                await accounts.set_status(
                    conn,
                    account_id=event.account_id,
                    org_id=event.org_id,
                    mode=event.mode,
                    platform=event.platform,
                    tenant_id=event.tenant_id,
                    status=status,
                    updated_at=event.updated_at,
                )


async def create_sandbox_account(
    engine: AsyncEngine, bus: Bus, who: Principal, *, platform: str, username: str, tenant_id: str | None
) -> Any:
    """Ask connect for a simulated account and hold it locally at once, so the caller's next
    POST /posts can target it without waiting for the account event to arrive."""
    request = CreateSandboxAccount(
        org_id=who.org_id, mode="test", platform=platform, username=username, tenant_id=tenant_id
    )
    account = await rpc.call(bus, SANDBOX_ACCOUNTS_CREATE, request, SocialAccount)
    async with engine.begin() as conn:
        await accounts.upsert(conn, _row(account, account.created_at))
        return await accounts.get(conn, who.org_id, "test", account.id)
