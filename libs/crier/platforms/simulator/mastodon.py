"""A Mastodon instance: app registration (`POST /api/v1/apps`), OAuth with optional PKCE on
/oauth/authorize and /oauth/token, /oauth/revoke, `verify_credentials`, and publishing:
`POST /api/v1/statuses` (with `Idempotency-Key`), `GET /api/v1/accounts/{id}/statuses` and the
instance's configuration (`/api/v1/instance`, `/api/v2/instance`). Tokens never expire and there
is no refresh grant.

Statuses are validated as Mastodon validates them: the `write:statuses` scope, the text (blank, or
longer than the instance's `max_characters`, set with `POST /_sim/mastodon/settings`), the
visibility, and the status replied to. They are rendered to HTML the way Mastodon renders them
(shortened links, mentions as `@user`, hashtags, paragraphs), since that is what clients read back.
A status may carry attachments uploaded through `mastodon_media` (`media_ids`), shown in its
`media_attachments`.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms._text import graphemes
from crier.platforms.mastodon import status_length
from crier.platforms.simulator import authz, mastodon_media
from crier.platforms.simulator import mastodon_entities as entities
from crier.platforms.simulator.authz import Dialect, Rules, SimError, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import App, Grant, World

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


# Mastodon keeps an Idempotency-Key for an hour.
IDEMPOTENCY_WINDOW_S = 3600.0
VISIBILITIES = ("public", "unlisted", "private", "direct")


def _scoped(grant: Grant, *wanted: str) -> None:
    if not set(grant.scopes) & set(wanted):
        raise SimError(reply({"error": "This action is outside the authorized scopes"}, 403))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "on")


def _refuse(message: str, status: int = 422) -> SimError:
    return SimError(reply({"error": message}, status))


def create_status(world: World, request: Request[Any, Any, Any], grant: Grant, body: dict[str, Any]) -> Post:
    """PostStatusService, as far as a client can tell: the checks, then the status."""
    user = world.user("mastodon", grant.user_id)
    assert user is not None
    parent = None
    if body.get("in_reply_to_id"):
        parent = world.posts.get("mastodon", str(body["in_reply_to_id"]))
        if parent is None:
            raise _refuse("The post you are trying to reply to does not appear to exist.", 404)
    key = request.headers.get("idempotency-key")
    if key:
        earlier = world.posts.replay("mastodon", user.id, key, world.now(), IDEMPOTENCY_WINDOW_S)
        if earlier is not None:
            return earlier
    text = str(body.get("status") or "")
    if str(body.get("visibility") or "public") not in VISIBILITIES:
        raise _refuse("Record invalid")
    # JSON names the list `media_ids`; a form, `media_ids[]`.
    media_ids = body.get("media_ids") or body.get("media_ids[]")
    if not text.strip() and not media_ids:
        raise _refuse("Validation failed: Text can't be blank")
    media = mastodon_media.check_status_media(world, grant, media_ids) if media_ids else []
    limit = entities.max_characters(world)
    if status_length(text) + graphemes(str(body.get("spoiler_text") or "")) > limit:
        raise _refuse(f"Validation failed: Text character limit of {limit} exceeded")
    post = world.posts.add(
        Post(
            platform="mastodon",
            id=world.number(18),
            user_id=user.id,
            text=text,
            created_at=world.now(),
            reply_to=parent.id if parent else None,
            request=body,
            idempotency_key=key,
        )
    )
    app = world.app("mastodon", grant.client_id)
    base = entities.base_of(request)
    post.response = entities.status(world, post, user, parent, base, app.name if app else "app")
    for item in media:
        item.extra["status_id"] = post.id
    post.response["media_attachments"] = [mastodon_media.attachment(m, base, world.now()) for m in media]
    if parent is not None:
        parent.response["replies_count"] = parent.response.get("replies_count", 0) + 1
    return post


def _page(posts: list[Post], params: dict[str, str]) -> list[Post]:
    """Newest first, `limit` (20, at most 40) of them, after the max_id / since_id / min_id bounds."""
    limit = max(1, min(40, int(params.get("limit") or 20)))
    chosen = sorted(posts, key=lambda p: int(p.id))
    if params.get("max_id"):
        chosen = [p for p in chosen if int(p.id) < int(params["max_id"])]
    if params.get("since_id"):
        chosen = [p for p in chosen if int(p.id) > int(params["since_id"])]
    if params.get("min_id"):
        # the page right after min_id, oldest of them first in line
        chosen = [p for p in chosen if int(p.id) > int(params["min_id"])][:limit]
    return list(reversed(chosen))[:limit]


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
        return reply(
            {
                **entities.account(world, user, entities.base_of(request)),
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

    @post("/api/v1/statuses", opt={"endpoint": "statuses"}, status_code=200)
    async def statuses(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "mastodon", DIALECT, request)
        _scoped(grant, "write", "write:statuses")
        return reply(create_status(world, request, grant, await payload(request)).response)

    @get("/api/v1/accounts/{account_id:str}/statuses", opt={"endpoint": "account_statuses"})
    async def account_statuses(request: Request[Any, Any, Any]) -> Response[Any]:
        account_id = request.path_params["account_id"]
        viewer = None
        if authz.presented_token(request):
            _, grant = authz.bearer(world, "mastodon", DIALECT, request)
            _scoped(grant, "read", "read:statuses")
            viewer = grant.user_id
        if world.user("mastodon", account_id) is None:
            return reply({"error": "Record not found"}, 404)
        params = query(request)
        posts = [
            p
            for p in world.posts.of("mastodon", account_id)
            if (viewer == account_id or p.response.get("visibility") in ("public", "unlisted"))
            and not (
                _truthy(params.get("exclude_replies"))
                and p.reply_to
                and p.response["in_reply_to_account_id"] != account_id
            )
            and not _truthy(params.get("pinned"))
            and not _truthy(params.get("only_media"))
        ]
        return reply([p.response for p in _page(posts, params)])

    @get("/api/v2/instance", opt={"endpoint": "instance"})
    async def instance(request: Request[Any, Any, Any]) -> Response[Any]:
        return reply(entities.instance_v2(world, request))

    @get("/api/v1/instance", opt={"endpoint": "instance_v1"})
    async def instance_old(request: Request[Any, Any, Any]) -> Response[Any]:
        return reply(entities.instance_v1(world, request))

    return [
        apps,
        authorize,
        token,
        revoke,
        verify_credentials,
        statuses,
        account_statuses,
        instance,
        instance_old,
        *mastodon_media.routes(world, DIALECT, entities.base_of),
    ]
