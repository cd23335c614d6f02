"""Unknown query parameters are a 400, so a filter spelt wrong never widens a result; so is a
parameter sent twice.

The parameters a route knows are the ones Litestar itself parses for its handler (the query
parameters of the handler's signature and of its dependencies, under their public names), read from
the route's kwargs model: a new endpoint is covered the moment it exists, with nothing to list by
hand. Only routes in the API description under `/api/v1` are judged; a route that must take what a
third party appends (the OAuth callback: platforms add parameters of their own) opts out with
`opt={ANY_QUERY: True}`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute

from crier.gateway.entrypoints.http.errors import ApiError

ANY_QUERY = "any_query_parameters"
_API_PREFIX = "/api/v1/"
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
# Names the seeds' other APIs use for what Crier calls otherwise, so a client ported from them is
# told the name to send.
_SYNONYMS = {"external_user_id": "tenant_id", "end_user_id": "tenant_id", "page_size": "limit", "q": "search"}


def _known_by_route(app: Any) -> dict[tuple[str, str], frozenset[str]]:
    """Every (path template, method)'s query parameter names, from the kwargs models the routes
    were built with (kept on the app's state: built once, on the first request)."""
    cached: dict[tuple[str, str], frozenset[str]] | None = app.state.get("known_query_parameters")
    if cached is None:
        cached = {
            (route.path_format, method): frozenset(p.field_alias for p in kwargs_model.expected_query_params)
            for route in app.routes
            if isinstance(route, HTTPRoute)
            for method, (_, kwargs_model) in route.route_handler_map.items()
        }
        app.state["known_query_parameters"] = cached
    return cached


def _described(handler: BaseRouteHandler) -> bool:
    resolve = getattr(handler, "resolve_include_in_schema", None)
    return bool(resolve()) if resolve is not None else False


def suggestion(name: str, known: frozenset[str]) -> str | None:
    """The known name a near miss meant: camelCase for snake_case, a seed's synonym, a typo."""
    snake = _CAMEL.sub(r"_\1", name).lower().replace("-", "_")
    if snake in known:
        return snake
    if _SYNONYMS.get(snake) in known:
        return _SYNONYMS[snake]
    close = difflib.get_close_matches(snake, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def reject_unknown_query_parameters(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """An app-wide check, run by the app's `before_request` hook. The raw query string is looked at
    first: most requests have none, and parsing an empty one into Litestar's MultiDict was a few
    percent of a post create's CPU."""
    if not connection.scope.get("query_string"):
        return
    if not connection.query_params or handler.opt.get(ANY_QUERY) or not _described(handler):
        return
    template: str = connection.scope.get("path_template", "")
    if not template.startswith(_API_PREFIX):
        return
    known = _known_by_route(connection.app).get((template, connection.scope["method"]), frozenset())
    unknown = sorted({name for name in connection.query_params if name not in known})
    if not unknown:
        _reject_repeated(connection)
        return
    hints = {name: hint for name in unknown if (hint := suggestion(name, known)) is not None}
    listed = ", ".join(f"'{n}'" + (f" (did you mean '{hints[n]}'?)" if n in hints else "") for n in unknown)
    raise ApiError(
        400,
        "unknown_query_parameter",
        f"this endpoint does not take {listed}",
        {"unknown": unknown, "known": sorted(known), "suggestions": hints},
    )


def _reject_repeated(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """No parameter of the API takes a list: `?limit=1&limit=500` has no one meaning, and reading
    either value would hide the other."""
    repeated = sorted({name for name in connection.query_params if len(connection.query_params.getall(name)) > 1})
    if repeated:
        raise ApiError(
            400,
            "repeated_query_parameter",
            "send each query parameter once: " + ", ".join(f"'{n}'" for n in repeated),
            {"repeated": repeated},
        )
