"""TikTok Login Kit v2: the authorization page on www.tiktok.com/v2/auth/authorize/ (`client_key`),
token, refresh and revoke on open.tiktokapis.com/v2/oauth/…, and `/v2/user/info/`. A refresh
answers the same refresh token; revoking ends the authorization. The Content Posting API is in
`tiktok_posts`, registered here."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import account_figures, authz, tiktok_posts
from crier.platforms.simulator.authz import Dialect, Rules, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import World

RULES = Rules(
    platform="tiktok",
    pkce="optional",
    client_id_param="client_key",
    scope_separator=",",
    access_ttl_s=86400,
    refresh_ttl_s=365 * 86400,
    access_prefix="act.",
    refresh_prefix="rft.",
)


def _log_id() -> str:
    return secrets.token_hex(16).upper()


def _api_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return reply({"data": {}, "error": {"code": code, "message": message, "log_id": _log_id()}}, status, headers)


class TikTokDialect(Dialect):
    def oauth_error(self, error: str, description: str, status: int = 400) -> Response[Any]:
        return reply({"error": error, "error_description": description, "log_id": _log_id()}, status)

    def invalid_token(self, expired: bool) -> Response[Any]:
        return _api_error(401, "access_token_invalid", "The access token is invalid or not found in the request.")

    def rate_limited(self, retry_after: int) -> Response[Any]:
        return _api_error(
            429, "rate_limit_exceeded", "The API rate limit was exceeded.", {"Retry-After": str(retry_after)}
        )

    def server_error(self, status: int) -> Response[Any]:
        return _api_error(status, "internal_error", "Something went wrong. Please try again later.")

    def rejected(self) -> Response[Any]:
        return _api_error(403, "spam_risk_too_many_posts", "The daily post cap for this user has been reached.")


DIALECT = TikTokDialect()
_USER_FIELDS = {"open_id", "union_id", "avatar_url", "display_name", "username", *account_figures.TIKTOK_STATS}


def new_user_id(world: World) -> str:
    return "-000" + secrets.token_hex(14)


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def routes(world: World) -> list[Any]:
    def token_body(grant: Any, access: Any, refresh: Any) -> dict[str, Any]:
        return {
            "access_token": access.value,
            "expires_in": authz.expires_in(world, access),
            "open_id": grant.user_id,
            "refresh_expires_in": authz.expires_in(world, refresh),
            "refresh_token": refresh.value,
            "scope": ",".join(grant.scopes),
            "token_type": "Bearer",
        }

    @get("/v2/auth/authorize", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, RULES, query(request))

    @post("/v2/oauth/token", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        app = authz.client(world, RULES, DIALECT, request, form)
        granted = authz.grant_for(world, RULES, DIALECT, app, form)
        if granted is None:
            return DIALECT.oauth_error("invalid_request", "grant_type is not supported")
        grant, access, refresh = granted
        return reply(token_body(grant, access, refresh))

    @post("/v2/oauth/revoke", opt={"endpoint": "revoke"}, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        authz.client(world, RULES, DIALECT, request, form)
        authz.revoke(world, "tiktok", form.get("token", ""))
        return reply({})

    @get("/v2/user/info", opt={"endpoint": "user_info"})
    async def user_info(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "tiktok", DIALECT, request)
        user = world.user("tiktok", grant.user_id)
        assert user is not None
        fields = set(request.query_params.get("fields", "").split(","))
        if not fields <= _USER_FIELDS or fields == {""}:
            return _api_error(400, "invalid_params", "fields is missing or has an unknown field")
        if "username" in fields and "user.info.profile" not in grant.scopes:
            return _api_error(401, "scope_not_authorized", "The user did not authorize the scope user.info.profile")
        every = {
            "open_id": user.id,
            "union_id": "u" + user.id[-12:],
            "avatar_url": user.avatar_url,
            "display_name": user.display_name,
            "username": user.username,
            **account_figures.tiktok_stats(user.id),
        }
        return reply(
            {
                "data": {"user": {k: every[k] for k in fields}},
                "error": {"code": "ok", "message": "", "log_id": _log_id()},
            }
        )

    return [authorize, token, revoke, user_info, *tiktok_posts.routes(world, DIALECT)]
