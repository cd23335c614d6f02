"""Bearer API keys: who is calling, and whether their key grants what the route needs."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Guard

from crier.gateway.domain.api_key import Principal
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers.keys import authenticate

# Routes that need no key: probes and the API description.
PUBLIC_PATHS = [r"^/healthz$", r"^/readyz$", r"^/api/v1/openapi", r"^/api/v1/docs"]


# Route option: the route has a credential of its own (a pending-session token in its path), so a
# key is optional; one that is sent must still be valid, and the route checks it against its own.
KEY_OPTIONAL = "key_optional"


class ApiKeyAuth(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        sent = connection.headers.getall("authorization", [])
        if len(sent) > 1:
            # Which of two keys would be judged depends on the server; refuse rather than pick one.
            raise ApiError(401, "unauthorized", "send one Authorization header, not several")
        header = sent[0] if sent else ""
        scheme, _, secret = header.partition(" ")
        if not header and connection.route_handler.opt.get(KEY_OPTIONAL):
            return AuthenticationResult(user=None, auth=None)
        if not header:
            raise ApiError(401, "unauthorized", "send your API key as 'Authorization: Bearer sk_…'")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "unauthorized", "the Authorization header must use the Bearer scheme")
        principal = await authenticate(gateway_of(connection).ctx, secret.strip())
        if principal is None:
            raise ApiError(401, "unauthorized", "the API key is invalid or has been revoked")
        return AuthenticationResult(user=principal, auth=principal)


def requires(scope: str) -> Guard:
    # Async, though it awaits nothing: Litestar runs a sync guard in a worker thread.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            # Litestar's own OPTIONS answer (the methods allowed, no data) runs the route's guards
            # but, rightly, no authentication: there is no key to judge and nothing to protect.
            return
        principal: Principal = connection.auth
        if not principal.can(scope):
            raise ApiError(
                403,
                "insufficient_scope",
                f"this API key lacks the '{scope}' scope",
                {"required_scope": scope, "granted_scopes": sorted(principal.scopes)},
            )

    return guard


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return connection.auth


def optional_principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """On a KEY_OPTIONAL route: the key's holder, or None when no key was sent."""
    principal: Principal | None = connection.auth
    return principal
