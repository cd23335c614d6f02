"""Rules about social accounts that need no database."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from crier.contracts.common import PLATFORMS, Platform, one_of
from crier.kit.errors import Problem

USERNAME = re.compile(r"^[A-Za-z0-9_.\-@]{1,64}$")
ACTIVE = "active"
DISABLED = "disabled"
TOKEN_EXPIRED = "token_expired"


def known_platform(value: str) -> Platform:
    """`value` as one of the platforms Crier speaks to."""
    platform = one_of(value, PLATFORMS)
    if platform is not None:
        return platform
    raise Problem("platform", "unknown_platform", f"unknown platform {value!r}: one of {', '.join(PLATFORMS)}")


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise Problem("username", "invalid", "username must be 1-64 letters, digits or _ . - @")


def check_tenant(tenant_id: str | None) -> None:
    if tenant_id is not None and not 0 < len(tenant_id) <= 255:
        raise Problem("tenant_id", "invalid", "tenant_id must be 1-255 characters")


def sandbox_network_id(platform: Platform, username: str) -> str:
    """A stable id, so creating the same sandbox account twice reconnects it instead of duplicating."""
    return "sbx-" + hashlib.sha256(f"{platform}:{username.lower()}".encode()).hexdigest()[:20]


def due_for_refresh(expires_at: datetime | None, now: datetime, window_s: float) -> bool:
    return expires_at is not None and expires_at - now <= timedelta(seconds=window_s)
