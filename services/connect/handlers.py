"""Use cases of the connect service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from connect.adapters import accounts
from connect.domain.accounts import InvalidAccount, sandbox_network_id, validate_sandbox_account
from contracts.events import AccountConnected
from contracts.rpc import CreateSandboxAccount, RpcError, SocialAccount
from kit.bus import outbox
from kit.bus.rpc import RpcFailure


async def create_sandbox_account(engine: AsyncEngine, request: CreateSandboxAccount) -> SocialAccount:
    if request.mode != "test":
        raise RpcFailure(RpcError(code="test_mode_only", message="sandbox accounts exist only in test mode", status=403))
    try:
        validate_sandbox_account(request.platform, request.username, request.tenant_id)
    except InvalidAccount as exc:
        raise RpcFailure(
            RpcError(code="validation_error", message=str(exc), status=422, details={"field": exc.field})
        ) from None
    async with engine.begin() as conn:
        account = await accounts.upsert(
            conn,
            org_id=request.org_id,
            mode=request.mode,
            platform=request.platform,
            username=request.username,
            display_name=request.username,
            network_unique_id=sandbox_network_id(request.platform, request.username),
            tenant_id=request.tenant_id,
            sandbox=True,
        )
        await outbox.add(conn, "evt.account.connected", _connected(account))
    return account


def _connected(account: SocialAccount) -> AccountConnected:
    return AccountConnected(
        id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        org_id=account.org_id,
        mode=account.mode,
        account_id=account.id,
        platform=account.platform,
        username=account.username,
        display_name=account.display_name,
        network_unique_id=account.network_unique_id,
        tenant_id=account.tenant_id,
        status=account.status,
        account_type=account.account_type,
        sandbox=account.sandbox,
        updated_at=account.updated_at,
    )
