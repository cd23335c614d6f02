"""X: OAuth 2.0 with mandatory PKCE on x.com/i/oauth2, tokens on api.x.com/2/oauth2, and
`GET /2/users/me`. Refresh tokens (offline.access only) rotate; a dead one is refused with X's
`invalid_request` "Value passed for the token was invalid."."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, Rules, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import World

RULES = Rules(
    platform="x",
    pkce="required",
    client_auth="either",
    access_ttl_s=7200,
    refresh_ttl_s=None,
    rotate_refresh=True,
    wants_refresh=lambda code, app: "offline.access" in code.scopes,
)


class XDialect(Dialect):
    def oauth_error(self, error: str, description: str, status: int = 400) -> Response[Any]:
        if error == "invalid_grant" and "refresh token" in description:
            error, description = "invalid_request", "Value passed for the token was invalid."
        return reply({"error": error, "error_description": description}, status)

    def _problem(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
        return reply({"title": title, "detail": detail, "type": "about:blank", "status": status}, status, headers)

    def invalid_token(self, expired: bool) -> Response[Any]:
        return self._problem(401, "Unauthorized", "Unauthorized")

    def rate_limited(self, retry_after: int) -> Response[Any]:
        # X sends no Retry-After: the window's end, in epoch seconds, is the hint.
        return self._problem(
            429,
            "Too Many Requests",
            "Too Many Requests",
            {
                "x-rate-limit-limit": "75",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + retry_after),
            },
        )

    def server_error(self, status: int) -> Response[Any]:
        return self._problem(
            status,
            "Service Unavailable" if status == 503 else "Internal Server Error",
            "Something went wrong on X's side",
        )

    def rejected(self) -> Response[Any]:
        return reply(
            {
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            },
            403,
        )


DIALECT = XDialect()


def new_user_id(world: World) -> str:
    return world.number(19)


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def routes(world: World) -> list[Any]:
    @get("/i/oauth2/authorize", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, RULES, query(request))

    @post("/2/oauth2/token", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        app = authz.client(world, RULES, DIALECT, request, form)
        granted = authz.grant_for(world, RULES, DIALECT, app, form)
        if granted is None:
            return DIALECT.oauth_error("unsupported_grant_type", "grant_type is not supported")
        grant, access, refresh = granted
        body = {
            "token_type": "bearer",
            "expires_in": authz.expires_in(world, access),
            "access_token": access.value,
            "scope": " ".join(grant.scopes),
        }
        if refresh is not None:
            body["refresh_token"] = refresh.value
        return reply(body)

    @post("/2/oauth2/revoke", opt={"endpoint": "revoke"}, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        authz.client(world, RULES, DIALECT, request, form)
        # Revoking an access token leaves the refresh token (and so the grant) alive.
        authz.revoke(world, "x", form.get("token", ""), whole_grant=False)
        return reply({"revoked": True})

    @get("/2/users/me", opt={"endpoint": "me"})
    async def me(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "x", DIALECT, request)
        user = world.user("x", grant.user_id)
        assert user is not None
        fields = set(request.query_params.get("user.fields", "").split(","))
        data: dict[str, Any] = {"id": user.id, "name": user.display_name, "username": user.username}
        if "profile_image_url" in fields:
            data["profile_image_url"] = user.avatar_url
        if "verified" in fields:
            data["verified"] = False
        return reply({"data": data}, headers={"x-rate-limit-limit": "75", "x-rate-limit-remaining": "74"})

    return [authorize, token, revoke, me]
