"""A Mastodon instance: app registration (`POST /api/v1/apps`), OAuth with optional PKCE on
/oauth/authorize and /oauth/token, /oauth/revoke, and `verify_credentials`. Tokens never expire
and there is no refresh grant."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, Rules, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import App, World

RULES = Rules(
    platform="mastodon", pkce="optional", client_auth="either", access_ttl_s=None, wants_refresh=lambda code, app: False
)


class MastodonDialect(Dialect):
    def invalid_token(self, expired: bool) -> Response[Any]:
        return reply(
            {"error": "The access token is invalid"},
            401,
            {"WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token"'},
        )

    def rate_limited(self, retry_after: int) -> Response[Any]:
        return reply(
            {"error": "Too many requests"},
            429,
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": datetime.fromtimestamp(time.time() + retry_after, UTC).isoformat(),
            },
        )

    def server_error(self, status: int) -> Response[Any]:
        return reply(
            {"error": "Service Unavailable" if status == 503 else "We're sorry, but something went wrong"}, status
        )

    def rejected(self) -> Response[Any]:
        return reply({"error": "Validation failed: Text character limit of 500 exceeded"}, 422)


DIALECT = MastodonDialect()


def new_user_id(world: World) -> str:
    return world.number(18)


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def routes(world: World) -> list[Any]:
    @post("/api/v1/apps", opt={"endpoint": "apps"}, status_code=200)
    async def apps(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        uris = form.get("redirect_uris", "").split()
        if not form.get("client_name") or not uris:
            return reply({"error": "Validation failed: Name can't be blank, Redirect URI can't be blank"}, 422)
        scopes = form.get("scopes", "read").split()
        app = world.add_app(
            App(
                platform="mastodon",
                client_id=secrets.token_urlsafe(32),
                client_secret=secrets.token_urlsafe(32),
                redirect_uris=uris,
                name=form["client_name"],
            )
        )
        return reply(
            {
                "id": world.number(6),
                "name": app.name,
                "website": form.get("website"),
                "scopes": scopes,
                "redirect_uri": "\n".join(uris),
                "redirect_uris": uris,
                "vapid_key": secrets.token_urlsafe(65),
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "client_secret_expires_at": 0,
            }
        )

    @get("/oauth/authorize", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, RULES, query(request))

    @post("/oauth/token", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        app = authz.client(world, RULES, DIALECT, request, form)
        if form.get("grant_type") != "authorization_code":
            return DIALECT.oauth_error("unsupported_grant_type", "The authorization grant type is not supported")
        grant, access, _ = authz.exchange(world, RULES, DIALECT, app, form)
        return reply(
            {
                "access_token": access.value,
                "token_type": "Bearer",
                "scope": " ".join(grant.scopes),
                "created_at": int(access.issued_at),
            }
        )

    @post("/oauth/revoke", opt={"endpoint": "revoke"}, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        authz.client(world, RULES, DIALECT, request, form)
        authz.revoke(world, "mastodon", form.get("token", ""))
        return reply({})

    @get("/api/v1/accounts/verify_credentials", opt={"endpoint": "verify_credentials"})
    async def verify_credentials(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "mastodon", DIALECT, request)
        user = world.user("mastodon", grant.user_id)
        assert user is not None
        base = f"{str(request.base_url).rstrip('/')}/mastodon"
        created = datetime.fromtimestamp(1_600_000_000, UTC).isoformat().replace("+00:00", ".000Z")
        return reply(
            {
                "id": user.id,
                "username": user.username,
                "acct": user.username,
                "display_name": user.display_name,
                "locked": False,
                "bot": False,
                "discoverable": True,
                "indexable": True,
                "group": False,
                "hide_collections": False,
                "noindex": False,
                "created_at": created,
                "note": "<p>Simulated</p>",
                "url": f"{base}/@{user.username}",
                "uri": f"{base}/users/{user.username}",
                "avatar": user.avatar_url,
                "avatar_static": user.avatar_url,
                "header": f"{base}/headers/original/missing.png",
                "header_static": f"{base}/headers/original/missing.png",
                "followers_count": 3,
                "following_count": 5,
                "statuses_count": 8,
                "last_status_at": "2025-01-01",
                "emojis": [],
                "fields": [],
                "roles": [],
                "source": {
                    "privacy": "public",
                    "sensitive": False,
                    "language": "en",
                    "note": "Simulated",
                    "fields": [],
                    "follow_requests_count": 0,
                    "hide_collections": False,
                    "discoverable": True,
                    "indexable": True,
                    "attribution_domains": [],
                },
                "role": {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False},
            }
        )

    return [apps, authorize, token, revoke, verify_credentials]
