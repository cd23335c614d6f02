"""/console: the operator console's router, and signing in and out.

Kept out of the API: not in the OpenAPI document, not behind the API-key middleware (the session
cookie stands in for the key), with its own error pages and security headers.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from crier.gateway.entrypoints.http.console import accounts, live, posts, redrive, webhooks
from crier.gateway.entrypoints.http.console import session as sessions
from crier.gateway.entrypoints.http.console.csrf import checked_form
from crier.gateway.entrypoints.http.console.pages import PREFIX, STATIC, handle_exception, render, with_security_headers
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import keys
from crier.gateway.settings import GatewaySettings
from crier.kit.log import get as get_log

log = get_log("gateway.console")

_PUBLIC = {sessions.PUBLIC: True}
# The scope a key needs to sign in: the console shows the whole organization.
SIGN_IN_SCOPE = "admin"


@get("/", name="console_home")
async def home() -> Redirect:
    return Redirect(f"{PREFIX}/posts", status_code=303)


@get("/sign-in", name="console_sign_in_form", opt=_PUBLIC)
async def sign_in_form(request: Request[Any, Any, Any]) -> Response[str]:
    return render(request, "sign_in.html", operator=None, problem=None)


@post("/sign-in", name="console_sign_in", opt=_PUBLIC, status_code=303)
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    secret = str((await request.form()).get("api_key") or "").strip()
    who = await keys.authenticate(gateway_of(request).ctx, secret) if secret else None
    if who is None:
        log.info("console.sign_in_refused", reason="invalid_key")
        problem = "That key is not valid or has been revoked."
        return render(request, "sign_in.html", 401, operator=None, problem=problem)
    if not who.can(SIGN_IN_SCOPE):
        log.info("console.sign_in_refused", reason="not_admin", org_id=who.org_id, key_id=who.key_id)
        problem = f"That key lacks the '{SIGN_IN_SCOPE}' scope; the console needs an admin key."
        return render(request, "sign_in.html", 403, operator=None, problem=problem)
    sessions.start(request, who)
    log.info("console.signed_in", org_id=who.org_id, key_id=who.key_id, mode=who.mode)
    return Redirect(f"{PREFIX}/posts", status_code=303)


@post("/sign-out", name="console_sign_out", opt=_PUBLIC, status_code=303)
async def sign_out(request: Request[Any, Any, Any]) -> Redirect:
    sessions.end(request)
    return Redirect(f"{PREFIX}/sign-in", status_code=303)


@post("/mode", name="console_mode", status_code=303)
async def switch_mode(request: Request[Any, Any, Any]) -> Response[Any]:
    wanted = str((await request.form()).get("mode") or "")
    if not sessions.switch_mode(request, sessions.current(request), wanted):
        return render(request, "error.html", 403, title="Not allowed", message="A test key sees only test mode.")
    return Redirect(f"{PREFIX}/posts", status_code=303)


def console_router(settings: GatewaySettings) -> Router:
    return Router(
        path=PREFIX,
        route_handlers=[
            home,
            sign_in_form,
            sign_in,
            sign_out,
            switch_mode,
            posts.list_posts,
            posts.show_post,
            redrive.failed_targets,
            redrive.confirm_redrive,
            redrive.redrive,
            webhooks.list_endpoints,
            webhooks.show_endpoint,
            webhooks.resend,
            webhooks.enable,
            accounts.list_accounts,
            accounts.show_account,
            accounts.reconnect,
            live.live_view,
            live.live_panel,
            create_static_files_router(
                path="/static", directories=[STATIC], name="console_static", opt=_PUBLIC, include_in_schema=False
            ),
        ],
        include_in_schema=False,
        opt={"exclude_from_auth": True},
        middleware=[sessions.session_middleware(settings)],
        guards=[checked_form, sessions.signed_in],
        exception_handlers={Exception: handle_exception},
        after_request=with_security_headers,
    )
