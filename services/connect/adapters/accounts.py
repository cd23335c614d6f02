"""The social_accounts table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.rpc import SocialAccount

_COLUMNS = (
    "id, org_id, mode, platform, username, display_name, network_unique_id, tenant_id, "
    "account_type, status, sandbox, created_at, updated_at"
)

_UPSERT = sa.text(
    f"""
    INSERT INTO social_accounts ({_COLUMNS})
    VALUES (:id, :org_id, :mode, :platform, :username, :display_name, :network_unique_id, :tenant_id,
            :account_type, 'active', :sandbox, :now, :now)
    ON CONFLICT (org_id, mode, platform, network_unique_id) DO UPDATE
       SET username = EXCLUDED.username, display_name = EXCLUDED.display_name,
           tenant_id = COALESCE(EXCLUDED.tenant_id, social_accounts.tenant_id),
           status = 'active', deleted_at = NULL, updated_at = EXCLUDED.updated_at
    RETURNING {_COLUMNS}
    """
)


async def upsert(
    conn: AsyncConnection,
    *,
    org_id: str,
    mode: str,
    platform: str,
    username: str,
    display_name: str | None,
    network_unique_id: str,
    tenant_id: str | None,
    account_type: str = "account",
    sandbox: bool = False,
) -> SocialAccount:
    row = (
        await conn.execute(
            _UPSERT,
            {
                "id": str(uuid.uuid4()),
                "org_id": org_id,
                "mode": mode,
                "platform": platform,
                "username": username,
                "display_name": display_name,
                "network_unique_id": network_unique_id,
                "tenant_id": tenant_id,
                "account_type": account_type,
                "sandbox": sandbox,
                "now": datetime.now(UTC),
            },
        )
    ).one()
    return SocialAccount(**row._asdict())
