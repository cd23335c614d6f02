"""API keys: what a secret looks like, how it is stored, and what it may do."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

SCOPES: tuple[str, ...] = ("view", "manage", "publish", "connect", "webhooks", "admin")
MODES: tuple[str, ...] = ("live", "test")
# How much of the secret stays visible in listings, enough to tell keys apart and no more.
PREFIX_CHARS = 12


@dataclass(frozen=True)
class NewSecret:
    secret: str
    prefix: str
    digest: str


def new_secret(mode: str) -> NewSecret:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    secret = f"sk_{mode}_{secrets.token_urlsafe(32)}"
    return NewSecret(secret=secret, prefix=secret[:PREFIX_CHARS], digest=digest(secret))


def digest(secret: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is enough: there is nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(secret: str) -> bool:
    return secret.startswith(("sk_live_", "sk_test_")) and len(secret) >= 40


@dataclass(frozen=True)
class Principal:
    """Who is calling: an organization, seen through one key's mode and scopes."""

    org_id: str
    mode: str
    key_id: str
    scopes: frozenset[str]

    def can(self, scope: str) -> bool:
        return scope in self.scopes
