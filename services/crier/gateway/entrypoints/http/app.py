"""The Litestar application: routes, auth, error shape and the OpenAPI description."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server

from crier.gateway.entrypoints.http import connect_pages
from crier.gateway.entrypoints.http.account_metrics import AccountMetricsController
from crier.gateway.entrypoints.http.allowed_methods import answer_options
from crier.gateway.entrypoints.http.api_keys import ApiKeyController
from crier.gateway.entrypoints.http.auth import PUBLIC_PATHS, ApiKeyAuth, check_scopes
from crier.gateway.entrypoints.http.connect_apps import RedirectUriController, SocialNetworkController
from crier.gateway.entrypoints.http.connect_flows import (
    AuthUrlController,
    ConnectSessionController,
    PendingController,
    bluesky_client_metadata,
    oauth_callback,
)
from crier.gateway.entrypoints.http.console import console_router
from crier.gateway.entrypoints.http.docs_page import ScalarPage
from crier.gateway.entrypoints.http.end_users import EndUserController
from crier.gateway.entrypoints.http.errors import error_response, handle_exception
from crier.gateway.entrypoints.http.health import healthz, readyz
from crier.gateway.entrypoints.http.hosted_connect import HostedConnectController
from crier.gateway.entrypoints.http.imports import ImportController
from crier.gateway.entrypoints.http.media import MediaController
from crier.gateway.entrypoints.http.nul_guard import NulGuard
from crier.gateway.entrypoints.http.openapi_docs import install as finish_openapi
from crier.gateway.entrypoints.http.org_settings import OrgSettingsController
from crier.gateway.entrypoints.http.post_analytics import PostAnalyticsController
from crier.gateway.entrypoints.http.posts import PostController
from crier.gateway.entrypoints.http.query_guard import reject_unknown_query_parameters
from crier.gateway.entrypoints.http.rate_limits import RateLimits
from crier.gateway.entrypoints.http.request_body import check_json_body
from crier.gateway.entrypoints.http.request_id import RequestIdMiddleware
from crier.gateway.entrypoints.http.scheduling import SchedulingController
from crier.gateway.entrypoints.http.social_accounts import SandboxController, SocialAccountController
from crier.gateway.entrypoints.http.state import Gateway
from crier.gateway.entrypoints.http.webhooks import EventController, WebhookController

API_VERSION = "1.0.0"
# Platform apps, redirect allowlist, connect flows (API, callback, hosted pages) and end-users.
CONNECT_ROUTES = [
    SocialNetworkController,
    AuthUrlController,
    RedirectUriController,
    oauth_callback,
    bluesky_client_metadata,
    PendingController,
    ConnectSessionController,
    HostedConnectController,
    connect_pages.static_files(),
    EndUserController,
    OrgSettingsController,
]


async def _before_handler(request: Request[Any, Any, Any]) -> Response[None] | None:
    """Every check of a request before its handler, then the answer to `OPTIONS`: the app's one
    `before_request` hook, which runs after routing and authentication and before the handler's
    arguments are read. The request's form first (400), then the key's scopes (403,
    `auth.requires`). Not a guard: Litestar copies the route handler for every guard it runs, and
    that copy was a few percent of a post create's CPU. (Async: Litestar runs a sync hook in a
    worker thread.)"""
    handler = request.route_handler
    reject_unknown_query_parameters(request, handler)
    await check_json_body(request, handler)
    check_scopes(request, handler)
    return await answer_options(request)


def openapi_config(public_url: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Crier API",
        version=API_VERSION,
        description="Connect social accounts, create a post once, and follow its delivery to every account.",
        path="/api/v1",
        render_plugins=[JsonRenderPlugin(), ScalarPage(path="/docs")],
        servers=[Server(url=public_url)] if public_url else [],
        components=Components(
            security_schemes={
                "bearerAuth": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="sk_live_… or sk_test_…",
                    description="An API key. Test keys (sk_test_) see only sandbox data.",
                )
            }
        ),
        security=[{"bearerAuth": []}],
        use_handler_docstrings=True,
    )


async def _json_errors_only(response: Response[Any]) -> Response[Any]:
    """Litestar answers unknown paths under the OpenAPI prefix with an HTML page; clients expect
    the API's error shape on every 4xx. (Async, though it awaits nothing: Litestar runs a sync hook
    in a worker thread.)"""
    if response.status_code == 404 and response.media_type == MediaType.HTML:
        return error_response(404, "not_found", "no such resource")
    return response


def create_app(gateway: Gateway) -> Litestar:
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            PostController,
            PostAnalyticsController,
            SchedulingController,
            MediaController,
            ApiKeyController,
            SocialAccountController,
            AccountMetricsController,
            SandboxController,
            ImportController,
            *CONNECT_ROUTES,
            WebhookController,
            EventController,
            console_router(gateway.settings),
        ],
        middleware=[
            DefineMiddleware(ApiKeyAuth, exclude=PUBLIC_PATHS, exclude_from_auth_key="exclude_from_auth"),
            RateLimits,
        ],
        exception_handlers={Exception: handle_exception},
        openapi_config=openapi_config(gateway.settings.public_url),
        template_config=connect_pages.template_config(),
        request_max_body_size=gateway.settings.max_body_bytes,
        state=State({"gateway": gateway}),
        before_request=_before_handler,
        after_request=_json_errors_only,
        logging_config=None,
    )
    finish_openapi(app)
    return app


def asgi(gateway: Gateway) -> Any:
    """What uvicorn serves: the app inside the NUL guard, inside the request-id layer."""
    app = NulGuard(create_app(gateway), gateway.settings.max_body_bytes)
    return RequestIdMiddleware(app, gateway.meters, gateway.outage)
