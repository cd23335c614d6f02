"""Rendering console pages: Litestar's Jinja engine over the console's own templates, the headers
every page carries, and the error pages.

The engine is the console's own rather than the application's `template_config`, which is one per
application: the console's templates stay out of every other page's way. Jinja autoescapes every
value; pages run no inline script or style, so the policy allows only the console's own files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect

from crier.gateway.entrypoints.http.console.csrf import CsrfRefused, token_for
from crier.gateway.entrypoints.http.console.session import Operator, SignInRequired
from crier.gateway.entrypoints.http.errors import ApiError
from crier.kit.errors import Failure
from crier.kit.log import get

log = get("gateway.console")

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_STATUS_OF_FAILURE = {"invalid": 400, "not_found": 404, "conflict": 409, "forbidden": 403, "gone": 410}

engine = JinjaTemplateEngine(directory=TEMPLATES)


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


engine.engine.filters["when"] = _when


def render(
    request: Request[Any, Any, Any],
    template: str,
    status_code: int = 200,
    operator: Operator | None = None,
    **context: Any,
) -> Response[str]:
    if operator is None:
        operator = request.state.get("operator")
    html = engine.get_template(template).render(
        prefix=PREFIX,
        operator=operator,
        csrf_token=token_for(request),
        path=request.url.path,
        **context,
    )
    return Response(html, status_code=status_code, media_type=MediaType.HTML)


async def with_security_headers(response: Response[Any]) -> Response[Any]:
    """The console's after-request hook, in place of the API's (which turns HTML 404s into JSON).
    (Async, though it awaits nothing: Litestar runs a sync hook in a worker thread.)"""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, SignInRequired):
        return Redirect(f"{PREFIX}/sign-in", status_code=303)
    if isinstance(exc, CsrfRefused):
        message = (
            "This form has expired or did not come from the console. Nothing was changed; "
            "reload the page and try again."
        )
        return render(request, "error.html", 403, title="Form refused", message=message)
    if isinstance(exc, Failure):
        status = _STATUS_OF_FAILURE.get(exc.kind, 400)
        return render(request, "error.html", status, title=_title(status), message=exc.message)
    if isinstance(exc, ApiError):
        return render(request, "error.html", exc.status, title=_title(exc.status), message=exc.message)
    status = getattr(exc, "status_code", 500)
    if status >= 500:
        log.error("console.error", error=type(exc).__name__, path=request.url.path)
        message = "Something went wrong on our side; the error is in the gateway's log."
    else:
        message = str(getattr(exc, "detail", "") or "The request could not be handled.")
    return render(request, "error.html", status, title=_title(status), message=message)


def _title(status: int) -> str:
    return {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict", 503: "Unavailable"}.get(
        status, "Error"
    )
