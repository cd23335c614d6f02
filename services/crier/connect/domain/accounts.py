"""Rules about social accounts that need no database."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from crier.contracts.common import PLATFORMS

USERNAME = re.compile(r"^[A-Za-z0-9_.\-@]{1,64}$")
ACTIVE = "active"
DISABLED = "disabled"
TOKEN_EXPIRED = "token_expired"


class InvalidAccount(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def validate_sandbox_account(platform: str, username: str, tenant_id: str | None) -> None:
    if platform not in PLATFORMS:
        raise InvalidAccount("platform", f"unknown platform {platform!r}; one of {', '.join(PLATFORMS)}")
    if not USERNAME.match(username):
        raise InvalidAccount("username", "username must be 1-64 letters, digits or _ . - @")
    validate_tenant(tenant_id)


def validate_tenant(tenant_id: str | None) -> None:
    if tenant_id is not None and not (0 < len(tenant_id) <= 255):
        raise InvalidAccount("tenant_id", "tenant_id must be 1-255 characters")


def sandbox_network_id(platform: str, username: str) -> str:
    """A stable id, so creating the same sandbox account twice reconnects it instead of duplicating."""
    return "sbx-" + hashlib.sha256(f"{platform}:{username.lower()}".encode()).hexdigest()[:20]


def token_context(org_id: str, mode: str, platform: str, network_unique_id: str, kind: str) -> str:
    """Associated data sealing an account's token to the account (its natural key, which a reconnect
    keeps), so a ciphertext copied onto another row does not decrypt."""
    return f"account:{org_id}:{mode}:{platform}:{network_unique_id}:{kind}"


def due_for_refresh(expires_at: datetime | None, now: datetime, window_s: float) -> bool:
    return expires_at is not None and expires_at - now <= timedelta(seconds=window_s)
