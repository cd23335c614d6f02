"""The control API tests drive the simulator with, under `/_sim`:

    POST   /_sim/reset                          forget everything
    POST   /_sim/clock                          {"advance_s": N} move the simulator's clock forward;
                                                {"offset_s": 0} set it back to real time
    POST   /_sim/{platform}/apps                {"client_id", "client_secret", "redirect_uris": [...],
                                                 "refresh_tokens": true} register an app
    POST   /_sim/{platform}/users               {"username"?, "display_name"?, "id"?, "email"?, "pages"?: N | [...],
                                                 "instagram"?: bool, "accounts"?: N, "app_password"?, "sign_in"?: true,
                                                 "history"?: N}
                                                create a user (signed in to the platform's authorize page),
                                                with N past posts on its timeline (`simulator.history`)
    POST   /_sim/{platform}/users/{id}/history {"count": N} N more posts on the user's timeline, newer than its others
    POST   /_sim/{platform}/session             {"user_id"} sign the browser in as another user
    POST   /_sim/{platform}/consent             {"decision": "deny" | "approve", "times": 1} script the next consents
    POST   /_sim/{platform}/grants/revoke       {"user_id"?} the user removes the app: every grant dies
    POST   /_sim/{platform}/tokens/expire       {"user_id"?} every access (and page) token expires now
    POST   /_sim/{platform}/tokens/invalidate   {"user_id"?, "token"?} access (and page) tokens are refused
                                                (401) while the grant lives: a refresh still works
    POST   /_sim/{platform}/settings            {"max_characters": N, "latency_ms": N, ...} what the
                                                platform's operator configures (Mastodon: the instance's
                                                status limit), and how long every call to it takes
    DELETE /_sim/settings                       every platform back to its defaults
    GET    /_sim/{platform}/posts?author=       what was posted (oldest first), by a user or page id:
                                                id, author, user_id, page_id, text, reply_to, root,
                                                created_at, request (the payload), response, idempotency_key
    GET    /_sim/{platform}/media               what was uploaded or pulled (no bytes): id, user_id, bytes, sha256,
                                                mime, kind, width, height, duration_s, frame_rate, alt_text, status
    POST   /_sim/files                          the raw body (with its Content-Type) hosted at the answered "url",
    GET    /_sim/files/{id}                     for platforms that pull media from a URL
    GET    /_sim/{platform}/state               apps, users, grants, settings, post count, pending faults
    POST   /_sim/faults                         {"platform", "endpoint" ("*" = any), "kind", "times"?: 1,
                                                 "retry_after"?: 1, "status"?, "body"?, "hang_s"?: 30,
                                                 "skip"?: 0 (calls let through first)}
    GET    /_sim/faults, DELETE /_sim/faults    list / clear scheduled faults
    GET    /_sim/requests?platform=&endpoint=   the request log (method, path, query, form, authorization)

Fault kinds: rate_limit (429 + Retry-After), server_error (500), unavailable (503), timeout (hangs
`hang_s` seconds, then 504), expired_token (the platform's expired-token answer), reject (the
platform's content rejection), status (`status` + `body` verbatim), accept_then_timeout (the
request is served, so a post IS made, then the answer hangs `hang_s` seconds: the caller's outcome
is unknown).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from types import ModuleType
from typing import Any

from litestar import Request, Response, Router, delete, get, post
from litestar.params import FromPath

from crier.platforms.simulator import history
from crier.platforms.simulator.authz import reply
from crier.platforms.simulator.http import json_of
from crier.platforms.simulator.world import App, Fault, User, World

FAULT_KINDS = {
    "rate_limit",
    "server_error",
    "unavailable",
    "timeout",
    "expired_token",
    "reject",
    "status",
    "accept_then_timeout",
}


def _bad(message: str, status: int = 400) -> Response[Any]:
    return reply({"error": message}, status)


def router(world: World, modules: dict[str, tuple[ModuleType, tuple[Any, ...]]]) -> Router:
    def known(platform: str) -> bool:
        return platform in modules

    @post("/reset", status_code=200)
    async def reset() -> Response[Any]:
        world.reset()
        return reply({"ok": True})

    @post("/clock", status_code=200)
    async def clock(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await json_of(request)
        if "offset_s" in body:
            world.offset_s = float(body["offset_s"])
        world.advance(float(body.get("advance_s", 0)))
        return reply({"now": world.now(), "offset_s": world.offset_s})

    @post("/{platform:str}/apps", status_code=201)
    async def add_app(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        if not known(platform):
            return _bad(f"unknown platform {platform}", 404)
        body = await json_of(request)
        uris = body.get("redirect_uris") or []
        app = world.add_app(
            App(
                platform=platform,
                client_id=str(body.get("client_id") or secrets.token_hex(8)),
                client_secret=str(body.get("client_secret") or secrets.token_hex(16)),
                redirect_uris=[uris] if isinstance(uris, str) else list(uris),
                refresh_tokens=bool(body.get("refresh_tokens", True)),
                name=str(body.get("name") or "app"),
            )
        )
        return reply(asdict(app), 201)

    @post("/{platform:str}/users", status_code=201)
    async def add_user(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        if not known(platform):
            return _bad(f"unknown platform {platform}", 404)
        body = await json_of(request)
        module, args = modules[platform]
        username = str(body.get("username") or f"user{world.number(6)}")
        user = User(
            platform=platform,
            id=str(body.get("id") or module.new_user_id(world, *args)),
            username=username,
            display_name=str(body.get("display_name") or username.title()),
            email=str(body.get("email") or f"{username}@example.com"),
            avatar_url=f"https://cdn.example.com/{platform}/{username}.jpg",
            app_password=body.get("app_password"),
        )
        user.pages = module.make_pages(world, *args, body)
        world.add_user(user, sign_in=bool(body.get("sign_in", True)))
        history.seed(world, platform, user, int(body.get("history") or 0), str(request.base_url).rstrip("/"))
        return reply(asdict(user), 201)

    @post("/{platform:str}/users/{user_id:str}/history", status_code=201)
    async def add_history(request: Request[Any, Any, Any]) -> Response[Any]:
        platform, user_id = request.path_params["platform"], request.path_params["user_id"]
        user = world.user(platform, user_id) if known(platform) else None
        if user is None:
            return _bad(f"no {platform} user {user_id}", 404)
        count = int((await json_of(request)).get("count") or 0)
        added = history.seed(world, platform, user, count, str(request.base_url).rstrip("/"))
        return reply({"added": added}, 201)

    @post("/{platform:str}/session", status_code=200)
    async def session(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        user_id = str((await json_of(request)).get("user_id"))
        if world.user(platform, user_id) is None:
            return _bad("unknown user", 404)
        world.signed_in[platform] = user_id
        return reply({"signed_in": user_id})

    @post("/{platform:str}/consent", status_code=200)
    async def consent(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        body = await json_of(request)
        decision = body.get("decision", "deny")
        if decision not in ("approve", "deny"):
            return _bad("decision must be approve or deny")
        world.consent.setdefault(platform, []).extend([decision] * int(body.get("times", 1)))
        return reply({"queued": world.consent[platform]})

    @post("/{platform:str}/grants/revoke", status_code=200)
    async def revoke_grants(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        user_id = (await json_of(request)).get("user_id")
        grants = world.grants_of(platform, str(user_id) if user_id else None)
        for grant in grants:
            world.revoke_grant(grant.id)
        return reply({"revoked": len(grants)})

    @post("/{platform:str}/tokens/expire", status_code=200)
    async def expire(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        user_id = (await json_of(request)).get("user_id")
        return reply({"expired": world.expire_access_tokens(platform, str(user_id) if user_id else None)})

    @post("/{platform:str}/tokens/invalidate", status_code=200)
    async def invalidate(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        body = await json_of(request)
        user_id, token = body.get("user_id"), body.get("token")
        count = world.invalidate_tokens(platform, str(user_id) if user_id else None, str(token) if token else None)
        return reply({"invalidated": count})

    @post("/{platform:str}/settings", status_code=200)
    async def settings(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        if not known(platform):
            return _bad(f"unknown platform {platform}", 404)
        world.settings.setdefault(platform, {}).update(await json_of(request))
        return reply(world.settings[platform])

    @delete("/settings", status_code=200)
    async def clear_settings() -> Response[Any]:
        world.settings.clear()
        return reply({"ok": True})

    @get("/{platform:str}/posts")
    async def posts(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        if not known(platform):
            return _bad(f"unknown platform {platform}", 404)
        author = request.query_params.get("author") or None
        return reply([p.as_dict() for p in world.posts.of(platform, author)])

    @get("/{platform:str}/media")
    async def media(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        if not known(platform):
            return _bad(f"unknown platform {platform}", 404)
        return reply([m.as_dict(world.now()) for m in world.media.of(platform)])

    @post("/files", status_code=201)
    async def host_file(request: Request[Any, Any, Any]) -> Response[Any]:
        file_id = world.media.host(
            await request.body(), request.headers.get("content-type", "application/octet-stream")
        )
        return reply({"id": file_id, "url": f"{str(request.base_url).rstrip('/')}/_sim/files/{file_id}"}, 201)

    @get("/files/{file_id:str}")
    async def hosted_file(file_id: FromPath[str]) -> Response[Any]:
        found = world.media.files.get(file_id)
        if found is None:
            return _bad("no such file", 404)
        return Response(found[0], media_type=found[1])

    @get("/{platform:str}/state")
    async def state(request: Request[Any, Any, Any]) -> Response[Any]:
        platform = request.path_params["platform"]
        return reply(world.snapshot(platform))

    @post("/faults", status_code=201)
    async def add_fault(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await json_of(request)
        if not known(str(body.get("platform"))):
            return _bad(f"unknown platform {body.get('platform')}")
        if body.get("kind") not in FAULT_KINDS:
            return _bad(f"kind must be one of {sorted(FAULT_KINDS)}")
        fault = world.add_fault(
            Fault(
                platform=body["platform"],
                endpoint=str(body.get("endpoint") or "*"),
                kind=body["kind"],
                times=int(body.get("times", 1)),
                retry_after=int(body.get("retry_after", 1)),
                status=body.get("status"),
                body=body.get("body"),
                hang_s=float(body.get("hang_s", 30.0)),
                skip=int(body.get("skip", 0)),
            )
        )
        return reply(asdict(fault), 201)

    @get("/faults")
    async def list_faults() -> Response[Any]:
        return reply([asdict(f) for f in world.faults])

    @delete("/faults", status_code=200)
    async def clear_faults() -> Response[Any]:
        world.faults.clear()
        world.unhang()
        return reply({"ok": True})

    @get("/requests")
    async def requests(request: Request[Any, Any, Any]) -> Response[Any]:
        platform, endpoint = request.query_params.get("platform"), request.query_params.get("endpoint")
        return reply(
            [
                r
                for r in world.requests
                if (not platform or r["platform"] == platform) and (not endpoint or r["endpoint"] == endpoint)
            ]
        )

    return Router(
        path="/_sim",
        route_handlers=[
            reset,
            clock,
            add_app,
            add_user,
            add_history,
            session,
            consent,
            revoke_grants,
            expire,
            invalidate,
            settings,
            clear_settings,
            posts,
            media,
            host_file,
            hosted_file,
            state,
            add_fault,
            list_faults,
            clear_faults,
            requests,
        ],
    )
