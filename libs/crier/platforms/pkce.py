"""PKCE (RFC 7636), the one implementation: connect makes the pair, the simulator checks it."""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_verifier() -> str:
    """A code verifier: 86 characters of the unreserved set (RFC 7636 allows 43-128)."""
    return secrets.token_urlsafe(64)


def challenge(verifier: str) -> str:
    """The S256 code challenge: BASE64URL(SHA256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
