"""The connect flow over the API: auth URLs, the public OAuth callback, pending page selection, and
hosted connect sessions."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import MediaType
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from crier.contracts import connect as api
from crier.gateway.domain.display import Display
from crier.gateway.entrypoints.http import connect_pages as pages
from crier.gateway.entrypoints.http import connect_schemas as cs
from crier.gateway.entrypoints.http.auth import KEY_OPTIONAL, optional_principal_of, principal_of, requires
from crier.gateway.entrypoints.http.connect_outcomes import follow
from crier.gateway.entrypoints.http.connect_support import account_out, ask
from crier.gateway.entrypoints.http.errors import ApiError, documented
from crier.gateway.entrypoints.http.query_guard import ANY_QUERY
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import connect_display
from crier.gateway.handlers.accounts import hold_accounts
from crier.platforms.atproto import oauth as atproto_oauth


class AuthUrlController(Controller):
    path = "/api/v1/social-networks"
    tags = ["connect"]

    @post(
        "/{platform:str}/auth-url",
        operation_id="createAuthUrl",
        opt=requires("connect"),
        status_code=200,
        responses=documented(400, 503),
        summary="Start connecting an account: the platform's authorization URL",
    )
    async def auth_url(
        self, request: Request[Any, Any, Any], platform: FromPath[str], data: JSONBody[cs.AuthUrlCreate]
    ) -> cs.AuthUrl:
        """Send the user to `auth_url`. It carries a single-use `state` valid for ten minutes (and a
        PKCE challenge where the platform takes one). The callback sends the user back to
        `redirect_uri`, which must be on the allowlist, with `status=connected&account_id=…`,
        `status=pending&session=…` (choose pages next) or `status=error&error_code=…`."""
        who = principal_of(request)
        reply = await ask(
            gateway_of(request),
            api.FLOWS_AUTH_URL,
            api.AuthUrlRequest(
                org_id=who.org_id,
                mode=who.mode,
                platform=platform,
                redirect_uri=data.redirect_uri,
                tenant_id=data.tenant_id,
                instance_url=data.instance_url,
            ),
            api.AuthUrl,
        )
        return cs.AuthUrl(auth_url=reply.auth_url, expires_at=reply.expires_at)


@get(
    api.CALLBACK_PATH,
    operation_id="oauthCallback",
    tags=["connect"],
    security=[],
    # Platforms append parameters of their own (Google's `scope` and `authuser`, …).
    opt={"exclude_from_auth": True, ANY_QUERY: True},
    summary="Where platforms send the user back (public)",
    # A browser's page, never JSON: its failures are HTML pages, documented as such.
    responses={
        status: ResponseSpec(str, media_type=MediaType.HTML, description=text, generate_examples=False)
        for status, text in (
            (400, "No valid state, or the flow failed: a page saying so (there is nowhere safe to redirect)"),
            (503, "Connecting is unavailable: a page saying so"),
        )
    },
)
async def oauth_callback(
    request: Request[Any, Any, Any],
    oauth_state: Annotated[str | None, QueryParameter(name="state")] = None,
    code: FromQuery[str | None] = None,
    error: FromQuery[str | None] = None,
    error_description: FromQuery[str | None] = None,
    iss: FromQuery[str | None] = None,
) -> Response[Any]:
    """Register this URL as the redirect URI of your platform apps. It checks the state (and, where
    the platform sends one, that `iss` names the authorization server the flow started with, RFC
    9207: else `error_code=invalid_issuer`), exchanges the code, and redirects (303) to the flow's
    redirect URI; with no valid state there is nowhere safe to send the user, so it answers 400
    with a page."""
    gw = gateway_of(request)
    try:
        outcome = await ask(
            gw,
            api.FLOWS_CALLBACK,
            api.Callback(state=oauth_state, code=code, error=error, error_description=error_description, iss=iss),
            api.Outcome,
            timeout=api.PLATFORM_CALL_TIMEOUT_S,
        )
    except ApiError as exc:
        return pages.message(request, "Connecting is unavailable", exc.message, status=exc.status)
    return await follow(request, outcome, state=oauth_state)


@get(
    api.BLUESKY_CLIENT_METADATA_PATH,
    operation_id="getBlueskyClientMetadata",
    tags=["connect"],
    security=[],
    # A document other servers fetch by a URL that is an identifier: whatever query it carries is
    # part of the client id the fetching server compares, not a filter to refuse.
    opt={"exclude_from_auth": True, ANY_QUERY: True},
    summary="Crier's atproto OAuth client metadata document (public)",
)
async def bluesky_client_metadata(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """This URL is the client id of the installation's Bluesky OAuth client (derived from
    `CRIER_PUBLIC_URL` when it is https), and an organization may register it as its own Bluesky
    app's `client_id`: Bluesky's authorization servers fetch it to learn Crier's callback and the
    scopes it asks for. It holds no secret: the client is public and proves itself with PKCE and
    DPoP. Built from the public URL alone, so it needs nothing from the other services."""
    base = gateway_of(request).settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    document = atproto_oauth.client_metadata(
        f"{base}{api.BLUESKY_CLIENT_METADATA_PATH}", [f"{base}{api.CALLBACK_PATH}"], client_uri=base
    )
    return Response(document, headers={"Cache-Control": "public, max-age=600"})


def _pending(view: api.PendingView) -> cs.PendingSession:
    return cs.PendingSession(
        network=view.network,
        tenant_id=view.tenant_id,
        expires_at=view.expires_at,
        available_pages=[
            cs.Page(id=p.id, type=p.type, name=p.name, username=p.username, profile_picture_url=p.profile_picture_url)
            for p in view.available_pages
        ],
        availablePages=[
            cs.PageCamel(
                id=p.id, type=p.type, name=p.name, username=p.username, profilePictureUrl=p.profile_picture_url
            )
            for p in view.available_pages
        ],
    )


# Tokens are 43 characters (32 random bytes); anything much longer is no token of ours and is not
# worth a round trip to connect.
_MAX_TOKEN_CHARS = 128
_PENDING = {KEY_OPTIONAL: True}


def _owner(request: Request[Any, Any, Any], token: str) -> dict[str, Any]:
    if len(token) > _MAX_TOKEN_CHARS:
        raise ApiError(404, "not_found", "no such pending session: it is unknown, expired or already used")
    who = optional_principal_of(request)
    return {} if who is None else {"org_id": who.org_id, "mode": who.mode}


class PendingController(Controller):
    """Page selection is authorized by the session token in the path, as the customer's backend
    received it on its redirect URI (`status=pending&session=…`); no API key is needed. A key sent
    with it narrows the call to the key's organization and mode."""

    path = "/api/v1/social-accounts/pending"
    tags = ["connect"]
    security = [{}, {"bearerAuth": []}]

    @get(
        "/{token:str}",
        operation_id="getPendingSession",
        opt=_PENDING,
        responses=documented(404, 503),
        summary="The pages a pending connection can choose from",
    )
    async def view(self, request: Request[Any, Any, Any], token: FromPath[str]) -> cs.PendingSession:
        """Authorized by the session token from `status=pending&session=…` alone (an API key may be
        sent too; it must then be the session's organization's). 404 once the session is unknown,
        expired or finalized."""
        reply = await ask(
            gateway_of(request), api.PENDING_GET, api.PendingRef(token=token, **_owner(request, token)), api.PendingView
        )
        return _pending(reply)

    @post(
        "/{token:str}/finalize",
        operation_id="finalizePendingSession",
        opt=_PENDING,
        status_code=200,
        responses=documented(400, 404, 503),
        summary="Connect the chosen pages (single use)",
    )
    async def finalize(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[cs.Finalize]
    ) -> cs.Finalized:
        """`selected_page_ids` (or `selectedPageIds`): at least one id from `available_pages`. An
        invalid selection leaves the session usable; a successful one spends it, so the token works
        once. Authorized like the view: the token, and the key if one is sent."""
        gw = gateway_of(request)
        reply = await ask(
            gw,
            api.PENDING_FINALIZE,
            api.PendingFinalize(token=token, selected_page_ids=data.ids(), **_owner(request, token)),
            api.Finalized,
        )
        await hold_accounts(gw.ctx, reply.connected_accounts)
        return cs.Finalized(
            connected_accounts=[account_out(a) for a in reply.connected_accounts],
            connectedAccounts=[
                cs.ConnectedCamel(
                    id=a.id,
                    nickname=a.display_name or a.username,
                    username=a.username,
                    network=a.platform,
                    accountType=a.account_type,
                )
                for a in reply.connected_accounts
            ],
        )


def display_in(given: cs.ConnectDisplay | None) -> Display | None:
    return None if given is None else Display(**msgspec.structs.asdict(given))


def display_out(shown: Display | None) -> cs.ConnectDisplay | None:
    kept = shown.as_dict() if shown else {}
    return cs.ConnectDisplay(**kept) if kept else None


def _session(s: api.ConnectSession, shown: Display | None = None) -> cs.ConnectSession:
    return cs.ConnectSession(
        id=s.id,
        status=s.status,
        platform=s.platform,
        tenant_id=s.tenant_id,
        redirect_uri=s.redirect_uri,
        account_ids=s.account_ids,
        error_code=s.error_code,
        expires_at=s.expires_at,
        created_at=s.created_at,
        updated_at=s.updated_at,
        display=display_out(shown),
    )


class ConnectSessionController(Controller):
    path = "/api/v1/connect-sessions"
    tags = ["connect"]

    @post(
        "/",
        operation_id="createConnectSession",
        opt=requires("connect"),
        status_code=201,
        responses=documented(400, 503),
        summary="Start a hosted connect session",
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[cs.ConnectSessionCreate]
    ) -> cs.ConnectSessionCreated:
        """Open `connect_url` in the end-user's browser: a Crier page runs the whole flow (and the page
        choice, for platforms with pages) and ends on `redirect_uri` (allowlisted) with
        `status=connected&account_id=…&connect_session_id=…` or `status=error&error_code=…`; a
        browser first sees a short success page that takes it there, or a denied / error page
        with a retry. Test keys connect through a simulated platform with a Crier consent page.
        `display` brands every page (name, logo, accent colour, support link, language) over the
        organization's default (`PUT /org-settings`); a bad field is a 422 naming it."""
        who, gw = principal_of(request), gateway_of(request)
        shown = await connect_display.for_new_session(gw.ctx, who, display_in(data.display))
        s = await ask(
            gw,
            api.SESSIONS_CREATE,
            api.SessionCreate(
                org_id=who.org_id,
                mode=who.mode,
                platform=data.platform,
                redirect_uri=data.redirect_uri,
                tenant_id=data.tenant_id,
                instance_url=data.instance_url,
            ),
            api.ConnectSession,
        )
        assert s.connect_url is not None
        # Kept even when empty: the session's last page looks its display up by the session's id.
        await connect_display.keep_for_session(gw.ctx, who, s.id, shown, s.expires_at)
        return cs.ConnectSessionCreated(
            **{f: getattr(_session(s, shown), f) for f in cs.ConnectSession.__struct_fields__},
            connect_url=s.connect_url,
        )

    @get(
        "/{session_id:str}",
        operation_id="getConnectSession",
        opt=requires("view"),
        responses=documented(404, 503),
        summary="Poll a hosted connect session",
    )
    async def get_session(self, request: Request[Any, Any, Any], session_id: FromPath[str]) -> cs.ConnectSession:
        who = principal_of(request)
        s = await ask(
            gateway_of(request),
            api.SESSIONS_GET,
            api.SessionRef(org_id=who.org_id, mode=who.mode, id=session_id),
            api.ConnectSession,
        )
        kept = await connect_display.of_session(gateway_of(request).ctx, s.id)
        return _session(s, kept.display if kept else None)
