"""Talking to the connect service from the HTTP layer: one call shape, its errors as API errors, the
public account object, and holding accounts connect just connected in the local read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from msgspec import Struct

from crier.contracts.connect import SocialAccount as Account
from crier.gateway.adapters import accounts as read_model
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.entrypoints.http.state import Gateway
from crier.kit.bus import rpc
from crier.kit.log import get

log = get("gateway.http")

T = TypeVar("T")


async def ask(
    gw: Gateway, subject: str, message: Any, reply_type: type[T], *, timeout: float = 5.0, service: str = "connect"
) -> T:
    try:
        return await rpc.call(gw.bus, subject, message, reply_type, timeout=timeout)
    except rpc.RpcUnavailable:
        raise ApiError(503, "service_unavailable", f"the {service} service is not answering; retry shortly") from None
    except rpc.RpcFailure as f:
        raise ApiError.of(f.error.kind, f.error.code, f.error.message, dict(f.error.details)) from None


class SocialAccount(Struct, kw_only=True):
    id: str
    platform: str
    tenant_id: str | None
    social_network_id: str | None
    network_unique_id: str
    username: str
    display_name: str | None
    profile_image_url: str | None
    account_type: str
    status: str
    scopes: list[str]
    token_expires_at: datetime | None
    last_synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SocialAccountList(Struct, kw_only=True):
    data: list[SocialAccount]
    next_cursor: str | None


def account_out(a: Any) -> SocialAccount:
    """From connect's reply, or from a read-model row (which lacks what only connect knows)."""
    return SocialAccount(
        id=a.id,
        platform=a.platform,
        tenant_id=a.tenant_id,
        social_network_id=getattr(a, "social_network_id", None),
        network_unique_id=a.network_unique_id,
        username=a.username,
        display_name=a.display_name,
        profile_image_url=getattr(a, "profile_image_url", None),
        account_type=a.account_type,
        status=a.status,
        scopes=list(getattr(a, "scopes", None) or []),
        token_expires_at=getattr(a, "token_expires_at", None),
        last_synced_at=getattr(a, "last_synced_at", None),
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


async def remember(gw: Gateway, accounts: list[Account]) -> None:
    """Hold what connect just changed at once, so the caller's next POST /posts sees it without
    waiting for the account event (which arrives later and, being no newer, changes nothing)."""
    if not accounts:
        return
    try:
        async with gw.engine.begin() as conn:
            for a in accounts:
                await read_model.upsert(
                    conn,
                    {
                        "id": a.id,
                        "org_id": a.org_id,
                        "mode": a.mode,
                        "platform": a.platform,
                        "username": a.username,
                        "display_name": a.display_name,
                        "network_unique_id": a.network_unique_id,
                        "tenant_id": a.tenant_id,
                        "account_type": a.account_type,
                        "status": a.status,
                        "sandbox": a.sandbox,
                        "created_at": a.created_at,
                        "updated_at": a.updated_at,
                    },
                )
    except Exception as exc:  # connect has committed; its account event brings the same change shortly
        log.warning("gateway.account_hold_failed", error=type(exc).__name__)


class Removed(Struct, kw_only=True):
    id: str
    deleted: bool = True
