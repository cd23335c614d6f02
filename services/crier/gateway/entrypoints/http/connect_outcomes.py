"""Where a connect flow's step sends the browser: on, to the next page or the customer's redirect
URI, or a page saying why not.

A hosted session's last step (connected, denied, failed) answers a browser that asks for HTML with
a page of its own — success that takes the user back after a moment, or denied / failed with a
retry — in the session's display. Every other client, and every flow started with an auth URL, gets
the plain 303 to the redirect URI, as the API documents: the page only stands between the browser
and the same URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar import Request, Response
from litestar.response import Redirect

from crier.contracts import connect as api
from crier.gateway.entrypoints.http import connect_pages as pages
from crier.gateway.entrypoints.http.connect_support import ask_if_up
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import connect_display
from crier.gateway.handlers.accounts import hold_accounts

USER_DENIED = "user_denied"
# Long enough to read one line, short enough that nobody reaches for the button.
BACK_AFTER_S = 2


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _landing(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def follow(request: Request[Any, Any, Any], outcome: api.Outcome, *, state: str | None = None) -> Response[Any]:
    """Send the browser where connect says, holding any account it connected first. `state` is the
    OAuth state of the attempt that ended here: with it a failed hosted session offers a retry."""
    gw = gateway_of(request)
    await hold_accounts(gw.ctx, outcome.accounts)
    if outcome.location:
        if _wants_page(request) and (page := await _last_page(request, outcome, state)) is not None:
            return page
        return Redirect(
            path=outcome.location,
            status_code=303,
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )
    page = outcome.page or api.ErrorPage(status=400, title="Something went wrong", message="Start again.")
    return pages.message(request, page.title, page.message, status=page.status)


async def _last_page(request: Request[Any, Any, Any], outcome: api.Outcome, state: str | None) -> Response[Any] | None:
    assert outcome.location is not None
    landing = _landing(outcome.location)
    session_id, status = landing.get("connect_session_id"), landing.get("status")
    if not session_id or status not in ("connected", "error"):
        return None
    gw = gateway_of(request)
    kept = await connect_display.of_session(gw.ctx, session_id)
    if kept is None:  # a session this gateway did not create: the plain redirect
        return None
    session = await ask_if_up(
        gw, api.SESSIONS_GET, api.SessionRef(org_id=kept.org_id, mode=kept.mode, id=session_id), api.ConnectSession
    )
    if session is None:
        return None
    back_to = kept.display.product_name or urlsplit(outcome.location).hostname or ""
    common = {"display": kept.display, "platform": session.platform, "location": outcome.location, "back_to": back_to}
    if status == "connected":
        return pages.render(request, "done.html", delay=BACK_AFTER_S, **common)
    csrf = pages.csrf_value(request)
    return pages.render(
        request,
        "retry.html",
        csrf=csrf,
        secure=pages.secure(request),
        action="/connect/retry",
        state=state,
        denied=landing.get("error_code") == USER_DENIED,
        error_code=landing.get("error_code", ""),
        **common,
    )
