"""Threads: the authorization window on threads.net, the code exchange on
graph.threads.net/oauth/access_token (short-lived token + user id), the long-lived exchange
(`th_exchange_token`) and refresh (`th_refresh_token`, only for long-lived tokens at least 24 hours
old), and `/{version}/me`. A refreshed token does not end the old one, which lapses at its own
expiry.

Publishing takes two calls: `POST /{version}/{user-id}/threads` (endpoint `threads`) makes a media
container from `media_type=TEXT`, `text`, `reply_to_id` and `reply_control`, checked as Threads
checks them (500 characters with emojis counted in UTF-8 bytes, at most 5 links, the scopes, the
post replied to); `POST /{version}/{user-id}/threads_publish` (endpoint `threads_publish`,
`creation_id`) publishes it once, within a day, and keeps the post. The account's posts
(`GET /{user-id}/threads`, endpoint `user_threads`) and replies (`GET /{user-id}/replies`,
endpoint `user_replies`, needing `threads_read_replies`) come newest first; `GET /{media-id}`
(endpoint `media`) answers a post or a container (`status`, `error_message`). IMAGE, VIDEO and
CAROUSEL containers (see `threads_media`) pull their media when they are made and may be published
once FINISHED; the post keeps its media (`response.media`: ids, alt text, sha256).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Rules, SimError, reply
from crier.platforms.simulator.graph import (
    Containers,
    GraphDialect,
    MediaContainer,
    check_version,
    cursor_page,
    graph_error,
    graph_time,
    pick,
)
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.threads_media import media_container, media_of
from crier.platforms.simulator.world import Grant, User, World
from crier.platforms.threads import MAX_LENGTH, MAX_LINKS
from crier.platforms.threads import links as threads_links
from crier.platforms.threads import text_length as threads_length

SHORT_TTL_S = 3600.0
LONG_TTL_S = 60 * 86400.0
MIN_REFRESH_AGE_S = 86400.0
RULES = Rules(
    platform="threads",
    scope_separator=",",
    access_ttl_s=SHORT_TTL_S,
    wants_refresh=lambda code, app: False,
    access_prefix="THQVJ",
    redirect_fragment="#_",
)
DIALECT = GraphDialect()


def new_user_id(world: World) -> str:
    return world.number(17)


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def routes(world: World) -> list[Any]:
    def long_lived(token_value: str, *, refresh: bool) -> Response[Any]:
        old = world.token("threads", token_value)
        if not world.live(old, ("access", "long")):
            return DIALECT.invalid_token(old is not None and old.expires_at is not None)
        assert old is not None
        if refresh and (old.kind != "long" or world.now() - old.issued_at < MIN_REFRESH_AGE_S):
            return graph_error(
                400, 190 if old.kind != "long" else 10, "Only long-lived tokens at least 24 hours old can be refreshed"
            )
        new = world.issue(world.grants[old.grant_id], "long", LONG_TTL_S, prefix="THQVJL")
        return reply({"access_token": new.value, "token_type": "bearer", "expires_in": authz.expires_in(world, new)})

    @get("/oauth/authorize", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, RULES, query(request))

    @post("/oauth/access_token", opt={"endpoint": "token"}, status_code=200)
    async def access_token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = {**query(request), **await form_of(request)}
        app = authz.client(world, RULES, DIALECT, request, form)
        if form.get("grant_type") != "authorization_code":
            return graph_error(400, 100, "grant_type must be authorization_code")
        grant, access, _ = authz.exchange(world, RULES, DIALECT, app, form)
        return reply({"access_token": access.value, "user_id": int(grant.user_id)})

    @get("/access_token", opt={"endpoint": "exchange"})
    async def exchange(request: Request[Any, Any, Any]) -> Response[Any]:
        params = query(request)
        if params.get("grant_type") != "th_exchange_token":
            return graph_error(400, 100, "grant_type must be th_exchange_token")
        token = world.token("threads", params.get("access_token", ""))
        app = world.app("threads", world.grants[token.grant_id].client_id) if token else None
        if app is not None and params.get("client_secret") != app.client_secret:
            return DIALECT.oauth_error("invalid_client", "bad secret")
        return long_lived(params.get("access_token", ""), refresh=False)

    @get("/refresh_access_token", opt={"endpoint": "refresh"})
    async def refresh(request: Request[Any, Any, Any]) -> Response[Any]:
        params = query(request)
        if params.get("grant_type") != "th_refresh_token":
            return graph_error(400, 100, "grant_type must be th_refresh_token")
        return long_lived(params.get("access_token", ""), refresh=True)

    @get("/{version:str}/me", opt={"endpoint": "me"})
    async def me(request: Request[Any, Any, Any]) -> Response[Any]:
        check_version(request.path_params["version"])
        _, grant = authz.bearer(world, "threads", DIALECT, request, kinds=("access", "long"))
        user = world.user("threads", grant.user_id)
        assert user is not None
        node = {
            "id": user.id,
            "username": user.username,
            "name": user.display_name,
            "threads_profile_picture_url": user.avatar_url,
            "threads_biography": "Posting from the simulator",
        }
        return reply(pick(node, request.query_params.get("fields", ""), "id"))

    return [authorize, access_token, exchange, refresh, me, *publishing(world)]


# -- posts --------------------------------------------------------------------------------------

REPLY_CONTROLS = ("everyone", "accounts_you_follow", "mentioned_only", "parent_post_author_only", "followers_only")
MEDIA_TYPES = ("TEXT", "IMAGE", "VIDEO", "CAROUSEL")


def _invalid(message: str, subcode: int | None = None) -> SimError:
    return SimError(graph_error(400, 100, message, subcode))


def publishing(world: World) -> list[Any]:
    containers = Containers(world)

    def speaker(request: Request[Any, Any, Any], *scopes: str) -> tuple[Grant, User]:
        """The user a token speaks for, on a path naming that user (or `me`), with `scopes`."""
        check_version(request.path_params["version"])
        _, grant = authz.bearer(world, "threads", DIALECT, request, kinds=("access", "long"))
        user = world.user("threads", grant.user_id)
        assert user is not None
        if request.path_params.get("user_id", user.id) not in (user.id, "me"):
            raise SimError(graph_error(400, 100, "(#100) Cannot act for another Threads user", 33))
        missing = [s for s in scopes if s not in grant.scopes]
        if missing:
            raise SimError(
                graph_error(403, 10, f"(#10) Application does not have permission for this action: {missing[0]}")
            )
        return grant, user

    def media(post: Post, user: User) -> dict[str, Any]:
        parent = world.posts.get("threads", post.reply_to) if post.reply_to else None
        shortcode = f"C{post.id[-9:]}"
        node: dict[str, Any] = {
            "id": post.id,
            "media_product_type": "THREADS",
            "media_type": "TEXT_POST",
            "text": post.text,
            "permalink": f"https://www.threads.net/@{user.username}/post/{shortcode}",
            "shortcode": shortcode,
            "owner": {"id": user.id},
            "username": user.username,
            "timestamp": graph_time(post.created_at),
            "is_quote_post": False,
            "has_replies": False,
            "is_reply": parent is not None,
        }
        if parent is not None:
            node.update(
                replied_to={"id": parent.id}, root_post={"id": post.root or parent.id}, is_reply_owned_by_me=True
            )
            parent.response["has_replies"] = True
        return node

    @post("/{version:str}/{user_id:str}/threads", opt={"endpoint": "threads"}, status_code=200)
    async def create_container(request: Request[Any, Any, Any]) -> Response[Any]:
        body = {**query(request), **await payload(request)}
        body.pop("access_token", None)
        grant, user = speaker(request, "threads_basic", "threads_content_publish")
        kind = str(body.get("media_type") or "")
        if kind not in MEDIA_TYPES:
            raise _invalid("(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}")
        text = str(body.get("text") or "")
        if kind == "TEXT" and not text.strip():
            raise _invalid("(#100) The parameter text is required for media_type=TEXT")
        if threads_length(text) > MAX_LENGTH:
            raise _invalid(f"(#100) Param text must be at most {MAX_LENGTH} characters long")
        if len(threads_links(text)) > MAX_LINKS:
            raise SimError(graph_error(400, 100, "THREADS_API__LINK_LIMIT_EXCEEDED: a post takes at most 5 links"))
        if body.get("reply_control") is not None and body["reply_control"] not in REPLY_CONTROLS:
            raise _invalid(f"(#100) Param reply_control must be one of {{{', '.join(REPLY_CONTROLS)}}}")
        if body.get("reply_to_id"):
            if "threads_manage_replies" not in grant.scopes:
                raise SimError(graph_error(403, 10, "(#10) Replying needs the threads_manage_replies permission"))
            if world.posts.get("threads", str(body["reply_to_id"])) is None:
                raise _invalid(f"(#100) Param reply_to_id {body['reply_to_id']!r} is not a post that can be replied to")
        if kind != "TEXT":
            return reply({"id": (await media_container(world, containers, grant, user, body)).id})
        made = containers.add(
            MediaContainer(id=world.number(17), user_id=user.id, grant_id=grant.id, params=body, created_at=world.now())
        )
        return reply({"id": made.id})

    @post("/{version:str}/{user_id:str}/threads_publish", opt={"endpoint": "threads_publish"}, status_code=200)
    async def publish(request: Request[Any, Any, Any]) -> Response[Any]:
        body = {**query(request), **await payload(request)}
        _, user = speaker(request, "threads_basic", "threads_content_publish")
        container = containers.get(str(body.get("creation_id") or ""))
        if container is None or container.user_id != user.id:
            raise _invalid(f"(#100) Param creation_id {body.get('creation_id')!r} is not a media container", 4279009)
        status = container.status(world.now())
        if container.extra.get("carousel_item"):
            raise _invalid("(#100) A carousel item is published with its carousel, not on its own")
        if status == "IN_PROGRESS":
            raise _invalid("(#100) The media is not ready for publishing, please wait for a moment", 4279009)
        if status != "FINISHED":
            raise _invalid(f"(#100) The media container is {status}, it cannot be published")
        params = container.params
        made = world.posts.add(
            Post(
                platform="threads",
                id=world.number(17),
                user_id=user.id,
                text=str(params.get("text") or ""),
                created_at=world.now(),
                reply_to=str(params["reply_to_id"]) if params.get("reply_to_id") else None,
                request={**params, "creation_id": container.id},
            )
        )
        made.response = {**media(made, user), **media_of(container)}
        container.published_id = made.id
        return reply({"id": made.id})

    def listing(request: Request[Any, Any, Any], *, replies: bool) -> Response[Any]:
        scopes = ("threads_basic", "threads_read_replies") if replies else ("threads_basic",)
        _, user = speaker(request, *scopes)
        posts = [p for p in world.posts.of("threads", user.id) if (p.reply_to is not None) == replies]
        fields = request.query_params.get("fields", "")
        chosen, paging = cursor_page(posts, query(request), str(request.url).split("?")[0])
        return reply({"data": [pick(p.response, fields, "id") for p in chosen], "paging": paging})

    @get("/{version:str}/{user_id:str}/threads", opt={"endpoint": "user_threads"})
    async def user_threads(request: Request[Any, Any, Any]) -> Response[Any]:
        return listing(request, replies=False)

    @get("/{version:str}/{user_id:str}/replies", opt={"endpoint": "user_replies"})
    async def user_replies(request: Request[Any, Any, Any]) -> Response[Any]:
        return listing(request, replies=True)

    @get("/{version:str}/{media_id:str}", opt={"endpoint": "media"})
    async def node(request: Request[Any, Any, Any]) -> Response[Any]:
        media_id = request.path_params["media_id"]
        speaker(request, "threads_basic")
        fields = request.query_params.get("fields", "")
        found = world.posts.get("threads", media_id)
        if found is not None:
            return reply(pick(found.response, fields, "id"))
        container = containers.get(media_id)
        if container is not None:
            now = world.now()
            node = {"id": container.id, "status": container.status(now), "error_message": container.error_message(now)}
            return reply(pick(node, fields, "id,status"))
        raise _invalid(f"Unsupported get request. Object with ID '{media_id}' does not exist", 33)

    return [create_container, publish, user_threads, user_replies, node]
