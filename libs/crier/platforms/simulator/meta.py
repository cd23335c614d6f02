"""Facebook Login and the Graph API for Facebook Pages and Instagram professional accounts (the
same server plays both, under /facebook and /instagram).

The dialog on www.facebook.com, the code and `fb_exchange_token` exchanges on
`GET /{version}/oauth/access_token`, `/me`, `/me/accounts` (cursor-paginated, a Page token per
Page, `instagram_business_account` when linked), `DELETE /me/permissions`, and single nodes.

A Page publishes (Facebook only) with its Page token: `POST /{version}/{page-id}/feed`
(`message`, `link`) and `POST /{version}/{object-id}/comments` (`message`) on a post or a comment,
both the simulator's endpoint `publish`; it reads back with `GET /{page-id}/feed` (`read_feed`) and
`GET /{object-id}/comments` (`read_comments`). As on Facebook: comments go one reply deep (a reply
to a reply is filed under its top-level comment), a Page's post repeating its last one is #506,
posts take 63,206 and comments 8,000 UTF-16 code units, writing needs `pages_manage_posts` (posts)
or `pages_manage_engagement` (comments), and answers carry only the new object's id. A Page's
photos and videos are in `meta_page_media` (a feed post's `attached_media` names unpublished
photos); Instagram's publishing is in `meta_instagram`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, delete, get, post

from crier.platforms.simulator import account_figures, authz, post_engagement
from crier.platforms.simulator.authz import Rules, SimError, pages_spec, reply
from crier.platforms.simulator.graph import (
    GraphDialect,
    check_version,
    cursor_page,
    graph_error,
    graph_time,
    newest_first,
    pick,
)
from crier.platforms.simulator.http import query
from crier.platforms.simulator.meta_instagram import instagram_publishing
from crier.platforms.simulator.meta_page_media import attached_media, page_media, with_media
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import Grant, Token, User, World

SHORT_TTL_S = 5400.0
LONG_TTL_S = 60 * 86400.0
DIALECT = GraphDialect()
_PAGE_TASKS = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]


def rules(platform: str) -> Rules:
    return Rules(
        platform=platform,
        scope_separator=",",
        access_ttl_s=SHORT_TTL_S,
        refresh_ttl_s=None,
        wants_refresh=lambda code, app: False,
        access_prefix="EAAG",
        redirect_fragment="#_=_",
    )


def new_user_id(world: World, platform: str) -> str:
    return world.number(16)


def make_pages(world: World, platform: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    with_ig = spec.get("instagram", platform == "instagram")
    out = []
    for i, page in enumerate(pages_spec(spec, 1), 1):
        name = page.get("name") or f"{spec.get('username', 'Shop')} Page {i}"
        handle = name.lower().replace(" ", "")
        ig = None
        if page.get("instagram", with_ig):
            ig = {
                "id": world.number(17),
                "username": f"{handle}.ig",
                "name": name,
                "profile_picture_url": f"https://cdn.example.com/ig/{handle}.jpg",
            }
        out.append(
            {
                "id": str(page.get("id") or world.number(15)),
                "name": name,
                "username": handle,
                "category": page.get("category", "Local business"),
                "tasks": _PAGE_TASKS,
                "instagram_business_account": ig,
            }
        )
    return out


def _picture(url: str) -> dict[str, Any]:
    return {"data": {"url": url, "height": 50, "width": 50, "is_silhouette": False}}


def routes(world: World, platform: str) -> list[Any]:
    rule = rules(platform)

    def user_node(user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "name": user.display_name,
            "email": user.email,
            "picture": _picture(user.avatar_url),
            "metadata": {"type": "user"},
        }

    def page_node(page: dict[str, Any]) -> dict[str, Any]:
        return {
            **page,
            "picture": _picture(f"https://cdn.example.com/pages/{page['id']}.jpg"),
            "metadata": {"type": "page"},
        }

    def page_token(grant: Grant, page_id: str) -> str:
        for token in world.tokens.values():
            if token.grant_id == grant.id and token.page_id == page_id and token.kind == "page":
                return token.value
        return world.issue(grant, "page", None, prefix="EAAGp", page_id=page_id).value

    def caller(request: Request[Any, Any, Any]) -> tuple[Any, Grant, User]:
        token, grant = authz.bearer(world, platform, DIALECT, request)
        user = world.user(platform, grant.user_id)
        assert user is not None
        return token, grant, user

    @get("/{version:str}/dialog/oauth", opt={"endpoint": "authorize"})
    async def dialog(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, rule, query(request))

    @get("/{version:str}/oauth/access_token", opt={"endpoint": "token"})
    async def access_token(request: Request[Any, Any, Any]) -> Response[Any]:
        params = query(request)
        app = authz.client(world, rule, DIALECT, request, params)
        if params.get("grant_type") == "fb_exchange_token":
            old = world.token(platform, params.get("fb_exchange_token", ""))
            if not world.live(old, "access"):
                return DIALECT.oauth_error("invalid_grant", "the refresh token is dead")
            assert old is not None
            grant = world.grants[old.grant_id]
            if grant.client_id != app.client_id:
                return graph_error(400, 100, "The token does not belong to this app")
            new = world.issue(grant, "access", LONG_TTL_S, prefix="EAAG")
        else:
            grant, new, _ = authz.exchange(world, rule, DIALECT, app, params)
        return reply({"access_token": new.value, "token_type": "bearer", "expires_in": authz.expires_in(world, new)})

    @get("/{version:str}/me", opt={"endpoint": "me"})
    async def me(request: Request[Any, Any, Any]) -> Response[Any]:
        token, _, user = caller(request)
        if token.kind == "page":
            node = page_node(next(p for p in user.pages if p["id"] == token.page_id))
        else:
            node = user_node(user)
        fields = request.query_params.get("fields", "")
        if request.query_params.get("metadata") == "1":
            fields = f"{fields},metadata" if fields else "id,name,metadata"
        return reply(pick(node, fields, "id,name"))

    @get("/{version:str}/me/accounts", opt={"endpoint": "accounts"})
    async def accounts(request: Request[Any, Any, Any]) -> Response[Any]:
        token, grant, user = caller(request)
        if token.kind == "page":
            return graph_error(400, 100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)")
        limit = min(int(request.query_params.get("limit", 25)), 100)
        after = int(request.query_params.get("after", "0") or 0)
        fields = request.query_params.get("fields", "")
        chunk = user.pages[after : after + limit]
        data = [
            pick(
                {**page_node(p), "access_token": page_token(grant, p["id"])},
                fields,
                "id,name,access_token,category,category_list,tasks",
            )
            for p in chunk
        ]
        paging: dict[str, Any] = {"cursors": {"before": str(after), "after": str(after + len(chunk))}}
        if after + len(chunk) < len(user.pages):
            next_query = {**query(request), "after": str(after + len(chunk)), "limit": str(limit)}
            paging["next"] = f"{str(request.base_url).rstrip('/')}{request.url.path}?{urlencode(next_query)}"
        return reply({"data": data, "paging": paging})

    @delete("/{version:str}/me/permissions", opt={"endpoint": "revoke"}, status_code=200)
    async def permissions(request: Request[Any, Any, Any]) -> Response[Any]:
        token, grant, _ = caller(request)
        if token.kind == "page":
            return graph_error(400, 100, "(#100) Tried accessing nonexisting field (permissions) on node type (Page)")
        world.revoke_grant(grant.id)
        return reply({"success": True})

    @get("/{version:str}/{node_id:str}", opt={"endpoint": "node"})
    async def node(request: Request[Any, Any, Any]) -> Response[Any]:
        node_id = request.path_params["node_id"]
        _, _, user = caller(request)
        fields = request.query_params.get("fields", "")
        for page in user.pages:
            if page["id"] == node_id:
                counted = page_node(page) | account_figures.graph_counts("facebook", node_id)
                return reply(pick(counted, fields, "id,name"))
            ig = page.get("instagram_business_account")
            if ig and ig["id"] == node_id:
                return reply(pick(ig | account_figures.graph_counts("instagram", node_id), fields, "id,username"))
        found = published_node(node_id, fields) or post_engagement.post_node(world, platform, node_id, fields)
        if found is not None:
            return reply(found | post_engagement.graph_fields(world, platform, node_id, fields))
        return graph_error(400, 100, f"Unsupported get request. Object with ID '{node_id}' does not exist")

    handlers = [dialog, access_token, me, accounts, permissions, node]
    if platform == "facebook":
        media_routes, published_node = page_media(world)
        return handlers + page_publishing(world) + media_routes
    publishing, published_node = instagram_publishing(world)
    return handlers + publishing


# -- a Page's posts and comments (Facebook) ------------------------------------------------------

MAX_MESSAGE = 63_206
MAX_COMMENT = 8_000
_NO_PERMISSION = (
    "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts "
    "as an admin with sufficient administrative permission"
)


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _missing(object_id: str, verb: str) -> SimError:
    return SimError(
        graph_error(
            400,
            100,
            f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
            "missing permissions, or does not support this operation",
            33,
        )
    )


def page_publishing(world: World) -> list[Any]:
    def speaker(request: Request[Any, Any, Any], *scopes: str) -> tuple[Token, User, dict[str, Any]]:
        """The Page a Page token speaks for, if its grant holds `scopes`."""
        check_version(request.path_params["version"])
        token, grant = authz.bearer(world, "facebook", DIALECT, request)
        user = world.user("facebook", grant.user_id)
        page = next((p for p in user.pages if p["id"] == token.page_id), None) if user else None
        if token.kind != "page" or page is None or not set(scopes) <= set(grant.scopes):
            raise SimError(graph_error(403, 200, _NO_PERMISSION))
        assert user is not None
        return token, user, page

    def reader(request: Request[Any, Any, Any]) -> None:
        check_version(request.path_params["version"])
        _, grant = authz.bearer(world, "facebook", DIALECT, request)
        if "pages_read_engagement" not in grant.scopes:
            raise SimError(graph_error(403, 10, "(#10) This endpoint requires the 'pages_read_engagement' permission"))

    def author(page: dict[str, Any]) -> dict[str, str]:
        return {"id": page["id"], "name": page["name"]}

    @post("/{version:str}/{page_id:str}/feed", opt={"endpoint": "publish"}, status_code=200)
    async def create_post(request: Request[Any, Any, Any]) -> Response[Any]:
        page_id = request.path_params["page_id"]
        body = await payload(request)
        _, user, page = speaker(request, "pages_manage_posts", "pages_read_engagement")
        if page["id"] != page_id:
            return graph_error(403, 200, _NO_PERMISSION)
        message, link = str(body.get("message") or ""), body.get("link")
        photos = attached_media(world, page_id, body)
        if not message.strip() and not link and not photos:
            return graph_error(400, 100, "(#100) Missing message or attachment")
        if _length(message) > MAX_MESSAGE:
            return graph_error(400, 100, f"(#100) Param message must be at most {MAX_MESSAGE} characters long")
        if link is not None and (urlsplit(str(link)).scheme not in ("http", "https") or not urlsplit(str(link)).netloc):
            return graph_error(400, 100, "(#100) The parameter link must be a valid URL")
        earlier = [p for p in world.posts.of("facebook", page_id) if p.reply_to is None and p.page_id == page_id]
        # The same words with other photos are another post, not a repeat.
        if not photos and earlier and (earlier[-1].text, earlier[-1].request.get("link")) == (message, link):
            return graph_error(400, 506, "(#506) Duplicate status message")
        made = world.posts.add(
            Post(
                platform="facebook",
                id=f"{page_id}_{world.number(16)}",
                user_id=user.id,
                page_id=page_id,
                text=message,
                created_at=world.now(),
                request=body,
            )
        )
        short = made.id.rpartition("_")[2]
        made.response = {
            "id": made.id,
            "message": message,
            "created_time": graph_time(made.created_at),
            "updated_time": graph_time(made.created_at),
            "from": author(page),
            "permalink_url": f"https://www.facebook.com/{page_id}/posts/{short}",
            "status_type": "shared_story" if link else "added_photos" if photos else "mobile_status_update",
            "is_published": True,
            "is_hidden": False,
        }
        if photos:
            made.response = with_media(made.response, photos)
            for photo in photos:
                photo.extra["post_id"] = made.id
        return reply({"id": made.id})

    @post("/{version:str}/{object_id:str}/comments", opt={"endpoint": "publish"}, status_code=200)
    async def create_comment(request: Request[Any, Any, Any]) -> Response[Any]:
        object_id = request.path_params["object_id"]
        body = await payload(request)
        _, user, page = speaker(request, "pages_manage_engagement")
        target = world.posts.get("facebook", object_id)
        if target is None:
            raise _missing(object_id, "post")
        if target.reply_to is not None and target.reply_to != target.root:
            # One reply deep: a reply to a reply joins its top-level comment's replies.
            target = world.posts.get("facebook", target.reply_to) or target
        message = str(body.get("message") or "")
        if not message.strip() and not body.get("attachment_url"):
            return graph_error(400, 100, "(#100) Missing message or attachment")
        if _length(message) > MAX_COMMENT:
            return graph_error(400, 100, f"(#100) Comment text must be at most {MAX_COMMENT} characters long")
        root = world.posts.get("facebook", target.root or target.id) or target
        post_short = root.id.rpartition("_")[2]
        made = world.posts.add(
            Post(
                platform="facebook",
                id=f"{post_short}_{world.number(16)}",
                user_id=user.id,
                page_id=page["id"],
                text=message,
                created_at=world.now(),
                reply_to=target.id,
                request=body,
            )
        )
        is_reply = target.reply_to is not None
        made.response = {
            "id": made.id,
            "message": message,
            "created_time": graph_time(made.created_at),
            "from": author(page),
            "permalink_url": f"https://www.facebook.com/{root.page_id}/posts/{post_short}"
            + (f"?comment_id={target.id.rpartition('_')[2]}&reply_comment_id=" if is_reply else "?comment_id=")
            + made.id.rpartition("_")[2],
            "can_comment": not is_reply,
            "comment_count": 0,
            "like_count": 0,
            "is_hidden": False,
            **({"parent": {"id": target.id}} if is_reply else {}),
        }
        if "comment_count" in target.response:
            target.response["comment_count"] += 1
        return reply({"id": made.id})

    def page_posts(request: Request[Any, Any, Any]) -> Response[Any]:
        page_id = request.path_params["page_id"]
        reader(request)
        posts = [p for p in world.posts.of("facebook", page_id) if p.reply_to is None and p.page_id == page_id]
        fields = request.query_params.get("fields", "")
        chosen, paging = cursor_page(posts, query(request), str(request.url).split("?")[0])
        return reply({"data": [pick(p.response, fields, "id,message,created_time") for p in chosen], "paging": paging})

    @get("/{version:str}/{page_id:str}/feed", opt={"endpoint": "read_feed"})
    async def read_feed(request: Request[Any, Any, Any]) -> Response[Any]:
        return page_posts(request)

    @get("/{version:str}/{page_id:str}/published_posts", opt={"endpoint": "published_posts"})
    async def published_posts(request: Request[Any, Any, Any]) -> Response[Any]:
        return page_posts(request)

    @get("/{version:str}/{object_id:str}/comments", opt={"endpoint": "read_comments"})
    async def read_comments(request: Request[Any, Any, Any]) -> Response[Any]:
        object_id = request.path_params["object_id"]
        reader(request)
        if world.posts.get("facebook", object_id) is None:
            raise _missing(object_id, "get")
        params = query(request)
        stream = params.get("filter") == "stream"
        comments = [
            p for p in world.posts.of("facebook") if p.reply_to == object_id or (stream and p.root == object_id)
        ]
        chosen = newest_first(comments, params) if params.get("order") == "reverse_chronological" else comments
        limit = max(1, min(100, int(params.get("limit") or 25)))
        fields = params.get("fields", "")
        data = [pick(p.response, fields, "id,message,created_time,from") for p in chosen[:limit]]
        return reply({"data": data, "paging": {"cursors": {"before": "MAZDZD", "after": "MAZDZD"}}})

    return [create_post, create_comment, read_feed, published_posts, read_comments]
