"""API keys: what a secret looks like, how it is stored, and what it may do."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from crier.contracts.common import MODES, Mode, one_of
from crier.kit.errors import Problem

SCOPES: tuple[str, ...] = ("view", "manage", "publish", "connect", "webhooks", "admin")
# How much of the secret stays visible in listings, enough to tell keys apart and no more.
PREFIX_CHARS = 12


@dataclass(frozen=True)
class NewSecret:
    secret: str
    prefix: str
    digest: str


def new_secret(mode: Mode) -> NewSecret:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    secret = f"sk_{mode}_{secrets.token_urlsafe(32)}"
    return NewSecret(secret=secret, prefix=secret[:PREFIX_CHARS], digest=digest(secret))


def digest(secret: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is enough: there is nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(secret: str) -> bool:
    return secret.startswith(("sk_live_", "sk_test_")) and len(secret) >= 40


def checked_mode(mode: str) -> Mode:
    known = one_of(mode, MODES)
    if known is None:
        raise Problem("mode", "unknown_mode", "must be live or test")
    return known


def checked_scopes(scopes: Sequence[str] | None) -> list[str]:
    """`None` grants every scope."""
    if scopes is None:
        return list(SCOPES)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise Problem("scopes", "unknown_scope", f"unknown scopes {unknown}; choose from {', '.join(SCOPES)}")
    if not scopes:
        raise Problem("scopes", "empty", "must grant at least one scope")
    return sorted(set(scopes), key=SCOPES.index)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an organization, seen through one key's mode and scopes."""

    org_id: str
    mode: Mode
    key_id: str
    scopes: frozenset[str]

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    def may_issue(self, mode: Mode) -> bool:
        """A sandbox key must not mint keys that reach live data."""
        return self.mode == "live" or mode == "test"

    def key_modes(self) -> tuple[Mode, ...]:
        """Live admin keys manage every key of the org; test keys only see the sandbox side."""
        return MODES if self.mode == "live" else ("test",)
