"""What `OPTIONS` and a 405 say a path serves: every method of the path, whichever controller
declares it.

Litestar answers `OPTIONS` from a handler it makes when a path's first handler is registered, and
that handler lists the methods of the path as they stood then: `/api/v1/posts/{post_id}` said
`DELETE, OPTIONS` although it serves GET and PATCH too. The route the path ends up with knows them
all, so the answer is read from it instead. A 405 is raised by the router before any route runs;
its `Allow` (the router's complete list) is kept by the error handler.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT


def methods_by_path(app: Any) -> dict[str, str]:
    """Each path template's `Allow` value (built on the first request, kept on the app's state)."""
    cached: dict[str, str] | None = app.state.get("allowed_methods")
    if cached is None:
        cached = {
            route.path_format: allow_header(route.methods) for route in app.routes if isinstance(route, HTTPRoute)
        }
        app.state["allowed_methods"] = cached
    return cached


def allow_header(methods: Any) -> str:
    return ", ".join(sorted({str(m).strip().upper() for m in methods if str(m).strip()}))


async def answer_options(request: Request[Any, Any, Any]) -> Response[None] | None:
    """An app-wide `before_request` hook: `OPTIONS` is answered here, with no body, before the handler
    Litestar made for it. (Async, though it awaits nothing: a sync hook would run in a worker thread.)"""
    if request.method != "OPTIONS":
        return None
    allow = methods_by_path(request.app).get(request.scope.get("path_template", ""))
    if allow is None:
        return None
    return Response(None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": allow})
