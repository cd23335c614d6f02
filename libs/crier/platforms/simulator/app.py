"""The simulator's ASGI app: every platform under `/<platform>/…` with its real paths, the control
API under `/_sim/…`, and one hook in front of every platform route that records the request and
plays any fault scheduled for it, after the platform's latency (`latency_ms` in its settings, for
benchmarks). An `accept_then_timeout` fault lets the route do its work (the
post is made) and holds the answer back instead, so the caller cannot tell what happened."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.types import Message, Scope

from crier.platforms.simulator import (
    account_figures,
    bluesky,
    control,
    google,
    linkedin,
    mastodon,
    meta,
    pinterest,
    threads,
    tiktok,
    x,
)
from crier.platforms.simulator.authz import Dialect, SimError, reply
from crier.platforms.simulator.world import World

# platform -> the module that plays it (and any argument its routes take)
MODULES: dict[str, tuple[ModuleType, tuple[Any, ...]]] = {
    "x": (x, ()),
    "linkedin": (linkedin, ()),
    "facebook": (meta, ("facebook",)),
    "instagram": (meta, ("instagram",)),
    "threads": (threads, ()),
    "youtube": (google, ("youtube",)),
    "google_business": (google, ("google_business",)),
    "tiktok": (tiktok, ()),
    "pinterest": (pinterest, ()),
    "mastodon": (mastodon, ()),
    "bluesky": (bluesky, ()),
}


def dialect(platform: str) -> Dialect:
    found: Dialect = MODULES[platform][0].DIALECT
    return found


def create_app(world: World | None = None) -> Litestar:
    world = world or World()

    async def before_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
        platform = request.url.path.split("/", 2)[1]
        if platform not in MODULES:
            return None
        endpoint = request.route_handler.opt.get("endpoint", "?")
        entry = {
            "platform": platform,
            "endpoint": endpoint,
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "authorization": request.headers.get("authorization"),
            "at": world.now(),
        }
        world.requests.append(entry)
        request.scope.setdefault("state", {})["sim_entry"] = entry
        latency_ms = float(world.setting(platform, "latency_ms", 0))
        if latency_ms > 0:
            await asyncio.sleep(latency_ms / 1000)
        fault = world.take_fault(platform, endpoint)
        if fault is None:
            return None
        entry["fault"] = fault.kind
        if fault.kind == "accept_then_timeout":
            request.scope["state"]["sim_hang_s"] = fault.hang_s
            return None
        words = dialect(platform)
        if fault.kind == "rate_limit":
            return words.rate_limited(fault.retry_after)
        if fault.kind in ("server_error", "unavailable"):
            return words.server_error(503 if fault.kind == "unavailable" else 500)
        if fault.kind == "timeout":
            await world.hang(fault.hang_s)
            return words.server_error(504)
        if fault.kind == "expired_token":
            return words.invalid_token(True)
        if fault.kind == "reject":
            return words.rejected()
        return reply(fault.body if fault.body is not None else {}, fault.status or 400)

    async def hold_answer(message: Message, scope: Scope) -> None:
        hang_s = scope.get("state", {}).get("sim_hang_s")
        if hang_s and message["type"] == "http.response.start" and message["status"] < 400:
            await world.hang(hang_s)

    def sim_error(request: Request[Any, Any, Any], exc: SimError) -> Response[Any]:
        return exc.response

    routers = [
        Router(
            path=f"/{platform}",
            route_handlers=[*module.routes(world, *args), *account_figures.routes(world, platform, dialect(platform))],
        )
        for platform, (module, args) in MODULES.items()
    ]
    app = Litestar(
        route_handlers=[*routers, control.router(world, MODULES)],
        before_request=before_request,
        before_send=[hold_answer],
        exception_handlers={SimError: sim_error},
        openapi_config=None,
        debug=False,
    )
    app.state.world = world
    return app
