"""The hosted connect pages (public; the secret in the link or the form is the credential):

- `/connect/start?session=…`: a connect session's start page; its form begins the OAuth flow.

Secrets ride in query strings and form fields, never in paths, which the access log records.
- `/connect/select?session=…`: the page choice for platforms with pages, as a form.
- `/connect/sandbox/authorize?state=…`: test mode's stand-in for a platform's consent screen.
- `/connect/app-password?state=…`: the sign-in form of platforms without a redirect (Bluesky).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from crier.contracts import connect as api
from crier.gateway.entrypoints.http import connect_pages as pages
from crier.gateway.entrypoints.http.connect_flows import follow
from crier.gateway.entrypoints.http.connect_support import ask
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.entrypoints.http.state import gateway_of

PUBLIC = {"exclude_from_auth": True}
_GONE = {
    "session_not_pending": "This connect link has already been used or has expired.",
    "not_found": "This link is not valid or has expired. Start again from the app you came from.",
}


def _secure(request: Request[Any, Any, Any]) -> bool:
    return gateway_of(request).settings.public_url.startswith("https://") or request.url.scheme == "https"


async def _form(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    return parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


def _problem(exc: ApiError) -> Response[str]:
    if exc.status >= 500:
        return pages.message("Connecting is unavailable", "Please try again in a moment.", status=503)
    return pages.message("This link cannot be used", _GONE.get(exc.code, exc.message), status=410)


def _stale_form() -> Response[str]:
    return pages.message(
        "Please try again", "This form expired. Go back, reload the page and submit it again.", status=400
    )


class HostedConnectController(Controller):
    path = "/connect"
    tags = ["hosted-connect"]
    include_in_schema = False

    @get("/start", opt=PUBLIC)
    async def start_page(self, request: Request[Any, Any, Any], session: FromQuery[str | None] = None) -> Response[Any]:
        token = session or ""
        try:
            s = await ask(gateway_of(request), api.HOSTED_OPEN, api.HostedToken(token=token), api.HostedSession)
        except ApiError as exc:
            return _problem(exc)
        if s.status != "pending":
            return pages.message("This link cannot be used", _GONE["session_not_pending"], status=410)
        return pages.start_form(
            action="/connect/start",
            token=token,
            platform=s.platform,
            app_name=s.app_name,
            sandbox=s.sandbox,
            csrf=pages.csrf_value(request),
            secure=_secure(request),
        )

    @post("/start", opt=PUBLIC, status_code=303)
    async def begin(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form()
        token = (form.get("session") or [""])[0]
        try:
            reply = await ask(gateway_of(request), api.HOSTED_BEGIN, api.HostedToken(token=token), api.AuthUrl)
        except ApiError as exc:
            return _problem(exc)
        return Redirect(path=reply.auth_url, status_code=303, headers={"Cache-Control": "no-store"})

    @get("/select", opt=PUBLIC)
    async def choice_page(
        self, request: Request[Any, Any, Any], session: FromQuery[str | None] = None
    ) -> Response[Any]:
        try:
            view = await ask(
                gateway_of(request), api.HOSTED_PENDING, api.HostedToken(token=session or ""), api.PendingView
            )
        except ApiError as exc:
            return _problem(exc)
        return pages.choice_form(
            action="/connect/select",
            token=session or "",
            network=view.network,
            pages=view.available_pages,
            csrf=pages.csrf_value(request),
            secure=_secure(request),
        )

    @post("/select", opt=PUBLIC, status_code=303)
    async def choose(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form()
        gw, token = gateway_of(request), (form.get("session") or [""])[0]
        chosen = [i for i in form.get("page_id", []) if i]
        try:
            if not chosen:
                view = await ask(gw, api.HOSTED_PENDING, api.HostedToken(token=token), api.PendingView)
                return pages.choice_form(
                    action="/connect/select",
                    token=token,
                    network=view.network,
                    pages=view.available_pages,
                    csrf=pages.csrf_value(request),
                    secure=_secure(request),
                    error="Select at least one.",
                    status=422,
                )
            outcome = await ask(
                gw, api.HOSTED_SELECT, api.HostedSelect(token=token, selected_page_ids=chosen), api.Outcome
            )
        except ApiError as exc:
            return _problem(exc)
        return await follow(gw, outcome)

    @get("/sandbox/authorize", opt=PUBLIC)
    async def consent_page(
        self, request: Request[Any, Any, Any], oauth_state: Annotated[str | None, QueryParameter(name="state")] = None
    ) -> Response[Any]:
        try:
            consent = await ask(
                gateway_of(request), api.SANDBOX_CONSENT, api.StateRef(state=oauth_state or ""), api.SignInView
            )
        except ApiError as exc:
            return _problem(exc)
        return pages.consent_form(
            action="/connect/sandbox/authorize",
            state=oauth_state or "",
            platform=consent.platform,
            app_name=consent.app_name,
            scopes=consent.scopes,
            csrf=pages.csrf_value(request),
            secure=_secure(request),
        )

    @post("/sandbox/authorize", opt=PUBLIC, status_code=303)
    async def decide(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form()
        decision = api.SandboxDecision(
            state=(form.get("state") or [""])[0], approve=(form.get("decision") or [""])[0] == "approve"
        )
        try:
            outcome = await ask(gateway_of(request), api.SANDBOX_DECIDE, decision, api.Outcome)
        except ApiError as exc:
            return _problem(exc)
        return await follow(gateway_of(request), outcome)

    @get("/app-password", opt=PUBLIC)
    async def app_password_page(
        self, request: Request[Any, Any, Any], oauth_state: Annotated[str | None, QueryParameter(name="state")] = None
    ) -> Response[Any]:
        try:
            view = await ask(
                gateway_of(request), api.APP_PASSWORD_VIEW, api.StateRef(state=oauth_state or ""), api.SignInView
            )
        except ApiError as exc:
            return _problem(exc)
        return pages.app_password_form(
            action="/connect/app-password",
            state=oauth_state or "",
            platform=view.platform,
            csrf=pages.csrf_value(request),
            secure=_secure(request),
        )

    @post("/app-password", opt=PUBLIC, status_code=303)
    async def app_password_login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form()
        gw = gateway_of(request)
        state, identifier, password = ((form.get(k) or [""])[0] for k in ("state", "identifier", "app_password"))
        try:
            outcome = await ask(
                gw,
                api.APP_PASSWORD_LOGIN,
                api.AppPasswordLogin(state=state, identifier=identifier.strip(), app_password=password),
                api.Outcome,
                timeout=api.PLATFORM_CALL_TIMEOUT_S,
            )
        except ApiError as exc:
            if exc.code != "invalid_credentials":
                return _problem(exc)
            return await self._app_password_again(request, state)
        return await follow(gw, outcome)

    async def _app_password_again(self, request: Request[Any, Any, Any], state: str) -> Response[Any]:
        """The platform refused the pair: the same form, the state still usable, a hint."""
        try:
            view = await ask(gateway_of(request), api.APP_PASSWORD_VIEW, api.StateRef(state=state), api.SignInView)
        except ApiError as exc:
            return _problem(exc)
        return pages.app_password_form(
            action="/connect/app-password",
            state=state,
            platform=view.platform,
            csrf=pages.csrf_value(request),
            secure=_secure(request),
            status=422,
            error="That handle and app password did not work. Check them and try again.",
        )
