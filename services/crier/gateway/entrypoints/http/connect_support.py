"""Talking to other services from the HTTP layer: one call shape, their errors as API errors, and
the public account object."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from msgspec import Struct

from crier.contracts.common import Platform
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.entrypoints.http.state import Gateway
from crier.kit.bus import rpc

T = TypeVar("T")


async def ask(
    gw: Gateway, subject: str, message: Any, reply_type: type[T], *, timeout: float = 5.0, service: str = "connect"
) -> T:
    reply = await ask_if_up(gw, subject, message, reply_type, timeout=timeout)
    if reply is None:
        raise ApiError(503, "service_unavailable", f"the {service} service is not answering; retry shortly")
    return reply


async def ask_if_up(gw: Gateway, subject: str, message: Any, reply_type: type[T], *, timeout: float = 5.0) -> T | None:
    """`ask` for callers with an answer of their own while the service is away: None then."""
    try:
        return await rpc.call(gw.bus, subject, message, reply_type, timeout=timeout)
    except rpc.RpcUnavailable:
        return None
    except rpc.RpcFailure as f:
        raise ApiError.of(f.error.kind, f.error.code, f.error.message, dict(f.error.details)) from None


class SocialAccount(Struct, kw_only=True):
    id: str
    platform: Platform
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


class Removed(Struct, kw_only=True):
    id: str
    deleted: bool = True
