"""What each sealed secret is bound to: the associated data of its AES-GCM ciphertext, so a value
copied onto another row fails to decrypt. These strings are part of the stored data: changing one
makes everything sealed with it unreadable."""

from __future__ import annotations

from typing import Literal

from crier.contracts.common import Mode, Platform

TokenKind = Literal["access", "refresh"]


def token_context(org_id: str, mode: Mode, platform: Platform, network_unique_id: str, kind: TokenKind) -> str:
    """An account's token, bound to the account's natural key (which a reconnect keeps)."""
    return f"account:{org_id}:{mode}:{platform}:{network_unique_id}:{kind}"


def client_secret_context(org_id: str, mode: Mode, platform: Platform) -> str:
    return f"social_network:{org_id}:{mode}:{platform}:client_secret"


def verifier_context(state_hash: str) -> str:
    """The PKCE verifier of one OAuth state."""
    return f"oauth_state:{state_hash}:code_verifier"


def grant_context(token_hash: str) -> str:
    """The tokens a pending page-selection session holds until the user chooses."""
    return f"pending_session:{token_hash}:grant"
