"""Every state-changing console request carries the session's CSRF token in its form.

The session cookie is SameSite=Strict already, so another site's form arrives without it; the token
is the second lock, for browsers or proxies that do not honour SameSite, and it binds each form to
the session that rendered it. A per-session token (not Litestar's CSRF middleware) because that
middleware is configured for the whole application, where API clients send no cookies at all.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from crier.gateway.entrypoints.http.console.session import csrf_token

FIELD = "csrf_token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(Exception):
    """A state-changing request without the session's token: nothing is done, 403."""


async def checked_form(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The console's guard for unsafe methods."""
    if not isinstance(connection, Request) or connection.method in _SAFE:
        return
    expected = connection.session.get("csrf") if connection.scope.get("session") else None
    content_type = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise CsrfRefused
    sent = (await connection.form()).get(FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise CsrfRefused


def token_for(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return csrf_token(connection)
