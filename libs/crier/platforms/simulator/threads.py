"""Threads: the authorization window on threads.net, the code exchange on
graph.threads.net/oauth/access_token (short-lived token + user id), the long-lived exchange
(`th_exchange_token`) and refresh (`th_refresh_token`, only for long-lived tokens at least 24 hours
old), and `/v1.0/me`. A refreshed token does not end the old one, which lapses at its own expiry."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Rules, reply
from crier.platforms.simulator.graph import GraphDialect, graph_error, pick
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import World

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

    @get("/v1.0/me", opt={"endpoint": "me"})
    async def me(request: Request[Any, Any, Any]) -> Response[Any]:
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

    return [authorize, access_token, exchange, refresh, me]
