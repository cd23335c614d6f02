"""Who is using the console: an operator signs in once with an admin API key, and an encrypted
session cookie stands for them afterwards.

The cookie is Litestar's client-side session (AES-GCM, its expiry sealed in as associated data),
so any gateway replica can read it. It holds the key's id, organization, mode and scopes and the
session's CSRF token, never the key: a stolen cookie cannot be turned into API access, and every
page looks the key up again by id, so revoking it ends its console sessions at once.

The cookie's key is derived from the installation's first encryption key (CRIER_ENCRYPTION_KEYS),
which every replica shares. Without one, each process draws a random key: sessions then last as
long as the process and do not cross replicas.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp

from crier.contracts.common import MODES, Mode, one_of
from crier.gateway.domain.api_key import Principal
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import keys
from crier.gateway.settings import GatewaySettings
from crier.kit.log import get

log = get("gateway.console")

COOKIE = "crier_console"
# Idle time after which the cookie is no longer accepted; every page renews it.
IDLE_S = 2 * 3600
# However active, a sign-in lasts at most this long.
ABSOLUTE_S = 12 * 3600
# Route option: reachable without signing in (the sign-in page, static files).
PUBLIC = "console_public"


class SignInRequired(Exception):
    """No session, an expired one, or one whose key was revoked: the answer is the sign-in page."""


@dataclass(frozen=True)
class Operator:
    """A signed-in operator: the key's organization, the mode they are looking at, the key's scopes."""

    org_id: str
    key_id: str
    key_mode: Mode
    mode: Mode
    scopes: frozenset[str]

    @property
    def principal(self) -> Principal:
        return Principal(org_id=self.org_id, mode=self.mode, key_id=self.key_id, scopes=self.scopes)

    def may_view(self, mode: Mode) -> bool:
        """A live admin key sees the organization's sandbox too; a test key never sees live data."""
        return self.key_mode == "live" or mode == "test"


def session_config(settings: GatewaySettings) -> CookieBackendConfig:
    return CookieBackendConfig(
        secret=_cookie_secret(settings.encryption_keys),
        key=COOKIE,
        max_age=IDLE_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=settings.public_url.lower().startswith("https://"),
    )


def session_middleware(settings: GatewaySettings) -> Callable[[ASGIApp], ASGIApp]:
    """The session middleware as a plain factory: Litestar deep-copies a router's layers when it
    registers them, and the backend's AES-GCM cipher cannot be copied (its `config.middleware`
    carries the backend itself)."""
    backend = ClientSideSessionBackend(config=session_config(settings))

    def wrap(app: ASGIApp) -> ASGIApp:
        return SessionMiddleware(app=app, backend=backend)

    return wrap


def _cookie_secret(encryption_keys: str) -> bytes:
    first = next((p.strip() for p in encryption_keys.split(",") if p.strip()), "")
    _, _, b64 = first.partition(":")
    try:
        material = base64.b64decode(b64, validate=True)
    except ValueError:
        material = b""
    if len(material) != 32:
        log.warning("console.session_key_per_process", reason="CRIER_ENCRYPTION_KEYS has no usable key")
        return secrets.token_bytes(32)
    # A key of its own for the cookie: the encryption key itself never seals anything else.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crier console session").derive(material)


def csrf_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The session's CSRF token, made on first use (the sign-in form has one too)."""
    token = connection.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        connection.session["csrf"] = token
    return token


def start(connection: ASGIConnection[Any, Any, Any, Any], who: Principal) -> None:
    """A new session for the key: nothing of the anonymous one survives (no fixation), and a new
    CSRF token."""
    connection.clear_session()
    connection.set_session(
        {
            "org_id": who.org_id,
            "key_id": who.key_id,
            "key_mode": who.mode,
            "mode": who.mode,
            "scopes": sorted(who.scopes),
            "since": int(time.time()),
            "csrf": secrets.token_urlsafe(32),
        }
    )


def end(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.clear_session()


def switch_mode(connection: ASGIConnection[Any, Any, Any, Any], operator: Operator, mode: str) -> bool:
    known = one_of(mode, MODES)
    if known is None or not operator.may_view(known):
        return False
    connection.session["mode"] = known
    return True


async def operator_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Operator:
    data = connection.session if connection.scope.get("session") else {}
    try:
        operator = Operator(
            org_id=data["org_id"],
            key_id=data["key_id"],
            key_mode=data["key_mode"],
            mode=data["mode"],
            scopes=frozenset(data["scopes"]),
        )
        since = int(data["since"])
    except (KeyError, TypeError, ValueError):
        raise SignInRequired from None
    if time.time() - since > ABSOLUTE_S or not await _key_active(connection, operator):
        connection.clear_session()
        raise SignInRequired
    return operator


async def _key_active(connection: ASGIConnection[Any, Any, Any, Any], operator: Operator) -> bool:
    as_key = Principal(org_id=operator.org_id, mode=operator.key_mode, key_id=operator.key_id, scopes=operator.scopes)
    listed = await keys.list_keys(gateway_of(connection).ctx, as_key)
    return any(k.id == operator.key_id and k.revoked_at is None for k in listed)


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The console's guard: every page but the public ones needs a live session."""
    if handler.opt.get(PUBLIC):
        return
    connection.state["operator"] = await operator_of(connection)


def current(connection: ASGIConnection[Any, Any, Any, Any]) -> Operator:
    operator: Operator = connection.state["operator"]
    return operator
