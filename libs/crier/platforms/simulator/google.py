"""Google's OAuth 2.0 (accounts.google.com, oauth2.googleapis.com) with YouTube's
`channels.list?mine=true` and uploads (under /youtube, see `youtube_videos`) or Business
Profile's accounts and locations, and their local posts (under /google_business, see
`google_local_posts`).

A refresh token is issued with `access_type=offline`, and again for an app the user already
granted only with `prompt=consent`; refreshing never returns a new one. Revoking either token
ends the grant."""

from __future__ import annotations

import secrets
import string
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import account_figures, authz, google_local_posts, youtube_videos
from crier.platforms.simulator.authz import Dialect, Rules, pages_spec, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import Code, User, World


def _error(status: int, message: str, reason: str, state: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return reply(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": state,
            }
        },
        status,
        headers,
    )


class GoogleDialect(Dialect):
    def invalid_token(self, expired: bool) -> Response[Any]:
        return _error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
            "cookie or other valid authentication credential.",
            "authError",
            "UNAUTHENTICATED",
            {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
        )

    def rate_limited(self, retry_after: int) -> Response[Any]:
        return _error(
            429,
            "Quota exceeded for quota metric 'Queries'.",
            "rateLimitExceeded",
            "RESOURCE_EXHAUSTED",
            {"Retry-After": str(retry_after)},
        )

    def server_error(self, status: int) -> Response[Any]:
        return _error(
            status,
            "The service is currently unavailable." if status == 503 else "Internal error encountered.",
            "backendError",
            "UNAVAILABLE" if status == 503 else "INTERNAL",
        )

    def rejected(self) -> Response[Any]:
        return _error(400, "The request metadata is invalid.", "invalidMetadata", "INVALID_ARGUMENT")


DIALECT = GoogleDialect()
_ID_CHARS = string.ascii_letters + string.digits + "-_"


def new_user_id(world: World, platform: str) -> str:
    return world.number(21)


def make_pages(world: World, platform: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    name = spec.get("display_name") or str(spec.get("username") or "Someone").title()
    if platform == "youtube":
        return [
            {
                "kind": "channel",
                "id": p.get("id") or "UC" + "".join(secrets.choice(_ID_CHARS) for _ in range(22)),
                "title": p.get("title") or (name if i == 1 else f"{name} {i}"),
                "customUrl": p.get("custom_url") or f"@{str(spec.get('username') or 'someone').lower()}{i}",
            }
            for i, p in enumerate(pages_spec(spec, 1), 1)
        ]
    accounts = [{"kind": "account", "name": f"accounts/{world.number(21)}", "accountName": name, "type": "PERSONAL"}]
    accounts += [
        {
            "kind": "account",
            "name": f"accounts/{world.number(21)}",
            "accountName": f"{name} Group {i}",
            "type": "LOCATION_GROUP",
        }
        for i in range(1, int(spec.get("accounts", 1)))
    ]
    locations = []
    for i, p in enumerate(pages_spec(spec, 2), 1):
        loc_id = p.get("id") or world.number(19)
        locations.append(
            {
                "kind": "location",
                "account": accounts[(i - 1) % len(accounts)]["name"],
                "name": f"locations/{loc_id}",
                "title": p.get("title") or f"{name} Shop {i}",
                "storefrontAddress": {
                    "regionCode": "US",
                    "languageCode": "en",
                    "postalCode": "94043",
                    "administrativeArea": "CA",
                    "locality": "Mountain View",
                    "addressLines": [f"{i} Main Street"],
                },
                "metadata": {
                    "mapsUri": f"https://maps.google.com/maps?cid={loc_id}",
                    "newReviewUri": f"https://search.google.com/local/writereview?placeid=P{loc_id}",
                    "placeId": f"ChIJ{loc_id}",
                },
            }
        )
    return accounts + locations


def _paged(
    items: list[dict[str, Any]],
    request: Request[Any, Any, Any],
    default: int,
    most: int,
) -> tuple[list[dict[str, Any]], str | None]:
    size = min(int(request.query_params.get("pageSize", default)), most)
    start = int(request.query_params.get("pageToken", "0") or 0)
    chunk = items[start : start + size]
    return chunk, (str(start + size) if start + size < len(items) else None)


def routes(world: World, platform: str) -> list[Any]:
    def wants_refresh(code: Code, app: Any) -> bool:
        if code.params.get("access_type") != "offline":
            return False
        granted_before = any(
            g.client_id == code.client_id and g.user_id == code.user_id and not g.revoked and g.id != code.used_by
            for g in world.grants_of(platform)
        )
        return code.params.get("prompt") == "consent" or not granted_before

    rules = Rules(
        platform=platform,
        pkce="optional",
        client_auth="either",
        access_ttl_s=3599,
        refresh_ttl_s=None,
        wants_refresh=wants_refresh,
        access_prefix="ya29.",
        refresh_prefix="1//0",
    )

    def caller(request: Request[Any, Any, Any]) -> User:
        _, grant = authz.bearer(world, platform, DIALECT, request)
        user = world.user(platform, grant.user_id)
        assert user is not None
        return user

    @get("/o/oauth2/v2/auth", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, rules, query(request))

    @post("/token", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        app = authz.client(world, rules, DIALECT, request, form)
        granted = authz.grant_for(world, rules, DIALECT, app, form)
        if granted is None:
            return DIALECT.oauth_error("unsupported_grant_type", "Invalid grant_type")
        grant, access, refresh = granted
        if form.get("grant_type") == "refresh_token":
            refresh = None  # Google never resends the refresh token
        body = {
            "access_token": access.value,
            "expires_in": authz.expires_in(world, access),
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }
        if refresh is not None:
            body["refresh_token"] = refresh.value
        return reply(body)

    @post("/revoke", opt={"endpoint": "revoke"}, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[Any]:
        value = str((await form_of(request)).get("token") or request.query_params.get("token") or "")
        token = world.token(platform, value)
        if not world.live(token, ("access", "refresh")):
            return DIALECT.oauth_error("invalid_token", "Token expired or revoked")
        authz.revoke(world, platform, value)
        return reply({})

    out = [authorize, token, revoke]
    if platform == "youtube":

        @get("/youtube/v3/channels", opt={"endpoint": "channels"})
        async def channels(request: Request[Any, Any, Any]) -> Response[Any]:
            user = caller(request)
            # `id` (account metrics) or `mine` (the connect flow's list of the user's channels).
            ids = [i for i in request.query_params.get("id", "").split(",") if i]
            if request.query_params.get("mine") != "true" and not ids:
                return _error(400, "No filter selected.", "missingRequiredParameter", "INVALID_ARGUMENT")
            parts = set(request.query_params.get("part", "snippet").split(","))
            items = [
                {
                    "kind": "youtube#channel",
                    "etag": secrets.token_urlsafe(12),
                    "id": c["id"],
                    "snippet": {
                        "title": c["title"],
                        "description": "",
                        "customUrl": c["customUrl"],
                        "publishedAt": "2020-01-01T00:00:00Z",
                        "thumbnails": {
                            k: {"url": f"https://yt3.example.com/{c['id']}-{k}.jpg", "width": w, "height": w}
                            for k, w in (("default", 88), ("medium", 240), ("high", 800))
                        },
                        "localized": {"title": c["title"], "description": ""},
                    },
                }
                for c in user.pages
                if c.get("kind") == "channel" and (not ids or c["id"] in ids)
            ]
            if "statistics" in parts:
                for item in items:
                    item["statistics"] = account_figures.youtube_statistics(item["id"])
            if "contentDetails" in parts:
                for item in items:
                    # A channel's uploads playlist is its id with UU for UC.
                    uploads = "UU" + item["id"][2:]
                    item["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": uploads}}
            return reply(
                {
                    "kind": "youtube#channelListResponse",
                    "etag": secrets.token_urlsafe(12),
                    "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
                    "items": items,
                }
            )

        out += [channels, *youtube_videos.routes(world, DIALECT)]
    else:

        @get("/v1/accounts", opt={"endpoint": "accounts"})
        async def accounts(request: Request[Any, Any, Any]) -> Response[Any]:
            user = caller(request)
            found = [
                {k: v for k, v in a.items() if k != "kind"}
                | {"verificationState": "VERIFIED", "vettedState": "NOT_VETTED"}
                for a in user.pages
                if a.get("kind") == "account"
            ]
            chunk, next_token = _paged(found, request, 20, 20)
            return reply({"accounts": chunk, **({"nextPageToken": next_token} if next_token else {})})

        @get("/v1/accounts/{account_id:str}/locations", opt={"endpoint": "locations"})
        async def locations(request: Request[Any, Any, Any]) -> Response[Any]:
            account_id = request.path_params["account_id"]
            user = caller(request)
            mask = [f for f in request.query_params.get("readMask", "").split(",") if f]
            if not mask:
                return _error(400, "Request contains an invalid argument.", "badRequest", "INVALID_ARGUMENT")
            mine = [
                loc
                for loc in user.pages
                if loc.get("kind") == "location" and loc["account"] == f"accounts/{account_id}"
            ]
            found = [{k: v for k, v in loc.items() if k in mask or k == "name"} for loc in mine]
            chunk, next_token = _paged(found, request, 10, 100)
            body: dict[str, Any] = {"locations": chunk, "totalSize": len(found)} if chunk else {}
            return reply(body | ({"nextPageToken": next_token} if next_token else {}))

        out += [accounts, locations, *google_local_posts.routes(world, DIALECT)]
    return out
