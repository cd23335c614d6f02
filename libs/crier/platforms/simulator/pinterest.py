"""Pinterest API v5: the authorization page on www.pinterest.com/oauth/, the token endpoint (HTTP
Basic client auth) with continuous refresh tokens that rotate on every refresh, and
`GET /v5/user_account`. A user's `pages` are their boards (one unless told otherwise), on which
`pinterest_pins` (registered here) makes Pins."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import account_figures, authz, pinterest_pins
from crier.platforms.simulator.authz import Dialect, Rules, pages_spec, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import World

RULES = Rules(
    platform="pinterest",
    client_auth="basic",
    scope_separator=",",
    access_ttl_s=30 * 86400,
    refresh_ttl_s=60 * 86400,
    rotate_refresh=True,
    access_prefix="pina_",
    refresh_prefix="pinr_",
)


class PinterestDialect(Dialect):
    def oauth_error(self, error: str, description: str, status: int = 400) -> Response[Any]:
        if error == "invalid_client":
            return reply({"code": 2, "message": "Authentication failed."}, 401)
        return reply({"code": 1, "message": description}, status)

    def invalid_token(self, expired: bool) -> Response[Any]:
        return reply({"code": 2, "message": "Authentication failed."}, 401)

    def rate_limited(self, retry_after: int) -> Response[Any]:
        return reply(
            {"code": 29, "message": "You have exceeded your rate limit. Try again later."},
            429,
            {"Retry-After": str(retry_after), "x-ratelimit-remaining": "0"},
        )

    def server_error(self, status: int) -> Response[Any]:
        return reply({"code": 0, "message": "Something went wrong on our end."}, status)

    def rejected(self) -> Response[Any]:
        return reply({"code": 3, "message": "Invalid Pin: the link is not allowed."}, 400)


DIALECT = PinterestDialect()


def new_user_id(world: World) -> str:
    return world.number(18)


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The user's boards."""
    return [
        {"id": str(b.get("id") or world.number(18)), "name": b.get("name") or f"Board {i}"}
        for i, b in enumerate(pages_spec(spec, 1), 1)
    ]


def routes(world: World) -> list[Any]:
    @get("/oauth", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, RULES, query(request))

    @post("/v5/oauth/token", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        app = authz.client(world, RULES, DIALECT, request, form)
        kind = form.get("grant_type")
        if kind == "authorization_code":
            grant, access, refresh = authz.exchange(world, RULES, DIALECT, app, form)
        elif kind == "refresh_token":
            grant, access, refresh = authz.refresh(world, RULES, DIALECT, app, form.get("refresh_token", ""))
        else:
            return reply({"code": 1, "message": "Invalid grant_type"}, 400)
        body: dict[str, Any] = {
            "access_token": access.value,
            "response_type": kind,
            "token_type": "bearer",
            "expires_in": authz.expires_in(world, access),
            "scope": ",".join(grant.scopes),
        }
        if refresh is not None:
            body |= {
                "refresh_token": refresh.value,
                "refresh_token_expires_in": authz.expires_in(world, refresh),
                "refresh_token_expires_at": int(refresh.expires_at or 0),
            }
        return reply(body)

    @get("/v5/user_account", opt={"endpoint": "user_account"})
    async def user_account(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "pinterest", DIALECT, request)
        if "user_accounts:read" not in grant.scopes:
            return reply({"code": 403, "message": "Not authorized to access the user account."}, 403)
        user = world.user("pinterest", grant.user_id)
        assert user is not None
        return reply(
            {
                "account_type": "BUSINESS",
                "id": user.id,
                "username": user.username,
                "business_name": user.display_name,
                "profile_image": user.avatar_url,
                "website_url": f"https://{user.username}.example.com",
                "about": "",
                "board_count": 3,
                "pin_count": account_figures.figures("pinterest", user.id)["posts"],
                "follower_count": account_figures.figures("pinterest", user.id)["followers"],
                "following_count": account_figures.figures("pinterest", user.id)["following"],
                "monthly_views": 100,
            }
        )

    return [authorize, token, user_account, *pinterest_pins.routes(world, DIALECT)]
