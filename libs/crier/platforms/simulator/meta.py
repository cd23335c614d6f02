"""Facebook Login and the Graph API for Facebook Pages and Instagram professional accounts (the
same server plays both, under /facebook and /instagram).

The dialog on www.facebook.com, the code and `fb_exchange_token` exchanges on
`GET /{version}/oauth/access_token`, `/me`, `/me/accounts` (cursor-paginated, a Page token per
Page, `instagram_business_account` when linked), `DELETE /me/permissions`, and single nodes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, delete, get

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Rules, pages_spec, reply
from crier.platforms.simulator.graph import GraphDialect, graph_error, pick
from crier.platforms.simulator.http import query
from crier.platforms.simulator.world import Grant, User, World

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
                return reply(pick(page_node(page), fields, "id,name"))
            ig = page.get("instagram_business_account")
            if ig and ig["id"] == node_id:
                return reply(pick(ig, fields, "id,username"))
        return graph_error(400, 100, f"Unsupported get request. Object with ID '{node_id}' does not exist")

    return [dialog, access_token, me, accounts, permissions, node]
