"""Request/reply messages between services (core NATS, `rpc.…` subjects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from crier.contracts.common import Mode


class RpcError(msgspec.Struct, kw_only=True, frozen=True):
    code: str
    message: str
    status: int = 400
    details: dict[str, Any] = {}


class RpcReply(msgspec.Struct, kw_only=True, frozen=True):
    ok: Any = None
    error: RpcError | None = None


class HealthReply(msgspec.Struct, kw_only=True, frozen=True):
    service: str
    ready: bool
    detail: str = ""


class CreateSandboxAccount(msgspec.Struct, kw_only=True, frozen=True):
    org_id: str
    mode: Mode
    platform: str
    username: str
    tenant_id: str | None = None


class SocialAccount(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    org_id: str
    mode: Mode
    platform: str
    username: str
    display_name: str | None
    network_unique_id: str
    tenant_id: str | None
    account_type: str
    status: str
    sandbox: bool
    created_at: datetime
    updated_at: datetime
    # The BYOK app that connected the account; None for managed credentials and sandbox accounts.
    social_network_id: str | None = None
    profile_image_url: str | None = None
    scopes: list[str] = []
    token_expires_at: datetime | None = None
    last_synced_at: datetime | None = None


def health_subject(service: str) -> str:
    return f"rpc.health.{service}"


CONNECT_CREATE_SANDBOX_ACCOUNT = "rpc.connect.sandbox_account.create"
