"""The rules of a connect flow that need no database, no bus and no network."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# A connect session's life: waiting for the user, waiting for their page choice, then done.
SESSION_PENDING = "pending"
SESSION_PENDING_SELECTION = "pending_selection"
SESSION_CONNECTED = "connected"
SESSION_FAILED = "failed"
SESSION_EXPIRED = "expired"
OPEN_SESSION_STATES = (SESSION_PENDING, SESSION_PENDING_SELECTION)

# Error codes a customer redirect can carry.
INVALID_STATE = "invalid_state"
USER_DENIED = "user_denied"
EXCHANGE_FAILED = "exchange_failed"
# The authorization response named another server than the one the flow started with (RFC 9207).
INVALID_ISSUER = "invalid_issuer"
AUTHORIZATION_FAILED = "authorization_failed"
NO_ACCOUNTS = "no_accounts"

_FORBIDDEN_SCHEMES = {"javascript", "data", "vbscript", "file", "blob", "about"}
MAX_URI_LENGTH = 2048


def new_secret() -> str:
    """256 random bits: states, session tokens, sandbox codes."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """Secrets a browser holds are stored as digests; they are random, so SHA-256 is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be a customer redirect, or None. Allowlisting compares exactly, so this only
    rejects what could never be a safe landing place."""
    if not uri or len(uri) > MAX_URI_LENGTH or uri != uri.strip():
        return f"must be a URL of at most {MAX_URI_LENGTH} characters without surrounding spaces"
    parts = urlsplit(uri)
    if not parts.scheme or parts.scheme.lower() in _FORBIDDEN_SCHEMES:
        return "must be an absolute URL with a scheme such as https"
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        return "must name a host"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    return None


def with_params(url: str, **params: str | None) -> str:
    """`url` with `params` added to its query string (the customer's own parameters are kept)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def connected_redirect(url: str, account_id: str, connect_session_id: str | None = None) -> str:
    return with_params(url, status="connected", account_id=account_id, connect_session_id=connect_session_id)


def pending_redirect(url: str, session_token: str) -> str:
    return with_params(url, status="pending", session=session_token)


def error_redirect(url: str, error_code: str, connect_session_id: str | None = None) -> str:
    return with_params(url, status="error", error_code=error_code, connect_session_id=connect_session_id)


def authorization_error_code(error: str) -> str:
    """The platform's `error` query parameter, as Crier's error code."""
    return USER_DENIED if error in ("access_denied", "user_denied", "user_cancelled_login") else AUTHORIZATION_FAILED


def exchange_error_code(reason: str) -> str:
    """Crier's error code for a code that could not be redeemed, by the platform module's reason."""
    return INVALID_ISSUER if reason == "invalid_issuer" else EXCHANGE_FAILED


def session_status(status: str, expires_at: datetime, now: datetime) -> str:
    """An open session past its expiry reads as expired; finished ones keep their outcome."""
    if status in OPEN_SESSION_STATES and expires_at <= now:
        return SESSION_EXPIRED
    return status
