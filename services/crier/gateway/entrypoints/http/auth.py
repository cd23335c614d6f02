"""Bearer API keys: who is calling, and whether their key grants what the route needs."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

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


# Route options naming the scopes a route needs, one option per scope: a controller's and its
# handler's then add up in the route's options (an option of one name would be replaced by the
# handler's), and the key must grant them all.
_SCOPE_OPTION = "requires_scope:"


def requires(scope: str) -> dict[str, bool]:
    """The route option (`opt=`) of a route, or of every route of a controller, that needs `scope`.
    Checked by `check_scopes` in the app's `before_request` hook rather than by a guard: Litestar
    copies the route handler for each guard it runs, a few percent of a post create's CPU."""
    return {_SCOPE_OPTION + scope: True}


def check_scopes(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """403 unless the key grants every scope the route needs, the controller's first."""
    if connection.scope.get("method") == "OPTIONS":
        # Litestar's own OPTIONS answer (the methods allowed, no data) runs the app's hook
        # but, rightly, no authentication: there is no key to judge and nothing to protect.
        return
    for option in handler.opt:
        if not option.startswith(_SCOPE_OPTION):
            continue
        scope = option.removeprefix(_SCOPE_OPTION)
        principal: Principal = connection.auth
        if not principal.can(scope):
            raise ApiError(
                403,
                "insufficient_scope",
                f"this API key lacks the '{scope}' scope",
                {"required_scope": scope, "granted_scopes": sorted(principal.scopes)},
            )


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return connection.auth


def optional_principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """On a KEY_OPTIONAL route: the key's holder, or None when no key was sent."""
    principal: Principal | None = connection.auth
    return principal
