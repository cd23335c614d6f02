"""The hosted connect pages (public; the secret in the link or the form is the credential):

- `/connect/start?session=…`: a connect session's start page; its form begins the OAuth flow.
- `/connect/select?session=…`: the page choice for platforms with pages, as a form.
- `/connect/sandbox/authorize?state=…`: test mode's stand-in for a platform's consent screen.
- `/connect/app-password?state=…`: the sign-in form of platforms without a redirect (Bluesky).
- `POST /connect/retry`: another attempt at a hosted session whose last one failed or was denied.

Secrets ride in query strings and form fields, never in paths, which the access log records.
Every page wears the flow's display (see connect_pages).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from crier.contracts import connect as api
from crier.gateway.domain.display import Display
from crier.gateway.entrypoints.http import connect_pages as pages
from crier.gateway.entrypoints.http.connect_outcomes import follow
from crier.gateway.entrypoints.http.connect_support import ask
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import connect_display

PUBLIC = {"exclude_from_auth": True}
_USED = ("This link cannot be used", "This connect link has already been used.")
_EXPIRED = (
    "This link has expired",
    "Connect links work for a limited time. Go back to the app you came from and start again.",
)
_UNKNOWN = (
    "This link cannot be used",
    "This link is not valid or has expired. Start again from the app you came from.",
)
_CHOOSE_ONE = "Select at least one."
_BAD_PASSWORD = "That handle and app password did not work. Check them and try again."
_UNAVAILABLE = ("Connecting is unavailable", "Please try again in a moment.")
_STALE = ("Please try again", "This form expired. Go back, reload the page and submit it again.")
# Every message this module puts on a page: each language's catalogue must translate them all.
MESSAGES = (*_USED, *_EXPIRED, *_UNKNOWN, _CHOOSE_ONE, _BAD_PASSWORD, *_UNAVAILABLE, *_STALE)


async def _form(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    return parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


def _field(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _problem(request: Request[Any, Any, Any], exc: ApiError, display: Display | None = None) -> Response[Any]:
    if exc.status >= 500:
        return pages.message(request, *_UNAVAILABLE, status=503, display=display)
    if exc.code == "session_not_pending":
        expired = (exc.details or {}).get("status") == "expired"
        return pages.message(request, *(_EXPIRED if expired else _USED), status=410, display=display)
    return pages.message(request, *_UNKNOWN, status=410, display=display)


def _stale_form(request: Request[Any, Any, Any]) -> Response[Any]:
    return pages.message(request, *_STALE, status=400)


def _form_page(request: Request[Any, Any, Any], template: str, display: Display, **context: Any) -> Response[Any]:
    """A page whose form posts back here: each carries the CSRF value and the secure flag."""
    return pages.render(
        request, template, display=display, csrf=pages.csrf_value(request), secure=pages.secure(request), **context
    )


async def _look(request: Request[Any, Any, Any], view: api.SignInView | api.PendingView) -> Display:
    return await connect_display.of_page(gateway_of(request).ctx, view.connect_session_id, view.org_id, view.mode)


class HostedConnectController(Controller):
    path = "/connect"
    tags = ["hosted-connect"]
    include_in_schema = False

    @get("/start", opt=PUBLIC)
    async def start_page(self, request: Request[Any, Any, Any], session: FromQuery[str | None] = None) -> Response[Any]:
        token, gw = session or "", gateway_of(request)
        try:
            s = await ask(gw, api.HOSTED_OPEN, api.HostedToken(token=token), api.HostedSession)
        except ApiError as exc:
            return _problem(request, exc)
        display = await connect_display.of_page(gw.ctx, s.id)
        if s.status != "pending":
            return pages.message(request, *(_EXPIRED if s.status == "expired" else _USED), status=410, display=display)
        return _form_page(
            request,
            "start.html",
            display,
            platform=s.platform,
            action="/connect/start",
            token=token,
            who=display.product_name or s.app_name,
            sandbox=s.sandbox,
        )

    @post("/start", opt=PUBLIC, status_code=303)
    async def begin(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form(request)
        try:
            reply = await ask(
                gateway_of(request), api.HOSTED_BEGIN, api.HostedToken(token=_field(form, "session")), api.AuthUrl
            )
        except ApiError as exc:
            return _problem(request, exc)
        return Redirect(path=reply.auth_url, status_code=303, headers={"Cache-Control": "no-store"})

    @post("/retry", opt=PUBLIC, status_code=303)
    async def retry(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form(request)
        try:
            reply = await ask(
                gateway_of(request), api.HOSTED_RETRY, api.StateRef(state=_field(form, "state")), api.AuthUrl
            )
        except ApiError as exc:
            return _problem(request, exc)
        return Redirect(path=reply.auth_url, status_code=303, headers={"Cache-Control": "no-store"})

    async def _choice(
        self, request: Request[Any, Any, Any], token: str, *, error: str | None = None, status: int = 200
    ) -> Response[Any]:
        try:
            view = await ask(gateway_of(request), api.HOSTED_PENDING, api.HostedToken(token=token), api.PendingView)
        except ApiError as exc:
            return _problem(request, exc)
        return _form_page(
            request,
            "select.html",
            await _look(request, view),
            platform=view.network,
            action="/connect/select",
            token=token,
            pages=view.available_pages,
            error=error,
            status=status,
        )

    @get("/select", opt=PUBLIC)
    async def choice_page(
        self, request: Request[Any, Any, Any], session: FromQuery[str | None] = None
    ) -> Response[Any]:
        return await self._choice(request, session or "")

    @post("/select", opt=PUBLIC, status_code=303)
    async def choose(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form(request)
        token, chosen = _field(form, "session"), [i for i in form.get("page_id", []) if i]
        if not chosen:
            return await self._choice(request, token, error=_CHOOSE_ONE, status=422)
        try:
            outcome = await ask(
                gateway_of(request),
                api.HOSTED_SELECT,
                api.HostedSelect(token=token, selected_page_ids=chosen),
                api.Outcome,
            )
        except ApiError as exc:
            return _problem(request, exc)
        return await follow(request, outcome)

    @get("/sandbox/authorize", opt=PUBLIC)
    async def consent_page(
        self, request: Request[Any, Any, Any], oauth_state: Annotated[str | None, QueryParameter(name="state")] = None
    ) -> Response[Any]:
        try:
            consent = await ask(
                gateway_of(request), api.SANDBOX_CONSENT, api.StateRef(state=oauth_state or ""), api.SignInView
            )
        except ApiError as exc:
            return _problem(request, exc)
        display = await _look(request, consent)
        return _form_page(
            request,
            "consent.html",
            display,
            platform=consent.platform,
            action="/connect/sandbox/authorize",
            state=oauth_state or "",
            who=display.product_name or consent.app_name,
            scopes=consent.scopes,
        )

    @post("/sandbox/authorize", opt=PUBLIC, status_code=303)
    async def decide(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form(request)
        decision = api.SandboxDecision(state=_field(form, "state"), approve=_field(form, "decision") == "approve")
        try:
            outcome = await ask(gateway_of(request), api.SANDBOX_DECIDE, decision, api.Outcome)
        except ApiError as exc:
            return _problem(request, exc)
        return await follow(request, outcome)

    async def _app_password(
        self, request: Request[Any, Any, Any], state: str, *, error: str | None = None, status: int = 200
    ) -> Response[Any]:
        try:
            view = await ask(gateway_of(request), api.APP_PASSWORD_VIEW, api.StateRef(state=state), api.SignInView)
        except ApiError as exc:
            return _problem(request, exc)
        return _form_page(
            request,
            "app_password.html",
            await _look(request, view),
            platform=view.platform,
            action="/connect/app-password",
            state=state,
            error=error,
            status=status,
        )

    @get("/app-password", opt=PUBLIC)
    async def app_password_page(
        self, request: Request[Any, Any, Any], oauth_state: Annotated[str | None, QueryParameter(name="state")] = None
    ) -> Response[Any]:
        return await self._app_password(request, oauth_state or "")

    @post("/app-password", opt=PUBLIC, status_code=303)
    async def app_password_login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await _form(request)
        if not pages.csrf_ok(request, form):
            return _stale_form(request)
        state, identifier, password = (_field(form, k) for k in ("state", "identifier", "app_password"))
        try:
            outcome = await ask(
                gateway_of(request),
                api.APP_PASSWORD_LOGIN,
                api.AppPasswordLogin(state=state, identifier=identifier.strip(), app_password=password),
                api.Outcome,
                timeout=api.PLATFORM_CALL_TIMEOUT_S,
            )
        except ApiError as exc:
            if exc.code != "invalid_credentials":
                return _problem(request, exc)
            # The platform refused the pair: the same form, the state still usable, a hint.
            return await self._app_password(request, state, error=_BAD_PASSWORD, status=422)
        return await follow(request, outcome)
