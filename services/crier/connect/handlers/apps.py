"""Platform apps (BYOK social networks, managed credentials) and the redirect allowlist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters import networks, redirects
from crier.connect.adapters.pages import BadCursor
from crier.connect.domain.flows import instance_url_problem, redirect_uri_problem
from crier.connect.handlers.context import Context
from crier.connect.handlers.errors import bad_cursor, fail, invalid, not_found
from crier.contracts import connect as api
from crier.contracts.common import PLATFORMS
from crier.platforms import mastodon
from crier.platforms.oauth import AppCredentials, OAuthError

SANDBOX_CLIENT_ID = "crier-sandbox"


def check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise invalid("platform", "unknown_platform", f"must be one of {', '.join(PLATFORMS)}")


def _http_url(field: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        raise invalid(field, "invalid_url", "must be an http(s) URL of at most 2048 characters")


async def upsert(ctx: Context, r: api.NetworkUpsert) -> api.Network:
    check_platform(r.platform)
    redirect_uri = r.redirect_uri or ctx.settings.callback_url
    if r.redirect_uri is not None:
        _http_url("redirect_uri", r.redirect_uri)
    if r.instance_url is not None and not ctx.settings.platform_base_url:
        problem = instance_url_problem(r.instance_url)
        if problem:
            raise invalid("instance_url", "invalid_url", f"instance_url {problem}")
    client_id, client_secret = r.client_id, r.client_secret
    if not client_id or not client_secret:
        if r.platform != "mastodon" or not r.instance_url:
            raise invalid(
                "client_id",
                "required",
                "client_id and client_secret are required (Mastodon alone can register itself, given instance_url)",
            )
        client_id, client_secret = await _register_on_instance(ctx, r.instance_url, redirect_uri, tuple(r.scopes))
    sealed = ctx.vault.seal(client_secret, networks.secret_context(r.org_id, r.mode, r.platform))
    assert sealed is not None
    async with ctx.engine.begin() as conn:
        row, _ = await networks.upsert(
            conn,
            org_id=r.org_id,
            mode=r.mode,
            platform=r.platform,
            display_name=r.display_name,
            client_id=client_id,
            client_secret_enc=sealed,
            redirect_uri=redirect_uri,
            scopes=list(dict.fromkeys(r.scopes)),
            instance_url=r.instance_url,
            now=ctx.now(),
        )
    return networks.public(row)


async def _register_on_instance(
    ctx: Context, instance_url: str, redirect_uri: str, scopes: tuple[str, ...]
) -> tuple[str, str]:
    """Mastodon's per-instance app registration (against the simulator's one instance when set)."""
    base = f"{ctx.settings.platform_base_url.rstrip('/')}/mastodon" if ctx.settings.platform_base_url else instance_url
    try:
        app = await mastodon.register_app(ctx.http, base, redirect_uri, scopes or mastodon.DEFAULT_SCOPES)
    except (OAuthError, httpx.HTTPError) as exc:
        raise fail(
            422,
            "instance_registration_failed",
            f"could not register Crier on {instance_url}",
            {"field": "instance_url", "reason": getattr(exc, "code", type(exc).__name__)},
        ) from None
    return app.client_id, app.client_secret


async def list_networks(ctx: Context, r: api.NetworkList) -> api.NetworkPage:
    try:
        async with ctx.engine.connect() as conn:
            data, next_cursor = await networks.page(conn, r.org_id, r.mode, limit=r.limit, cursor=r.cursor)
    except BadCursor:
        raise bad_cursor() from None
    return api.NetworkPage(data=data, next_cursor=next_cursor)


async def get_network(ctx: Context, r: api.NetworkRef) -> api.Network:
    async with ctx.engine.connect() as conn:
        row = await networks.get(conn, r.org_id, r.mode, r.id)
    if row is None:
        raise not_found("social network", r.id)
    return networks.public(row)


async def delete_network(ctx: Context, r: api.NetworkRef) -> api.Deleted:
    async with ctx.engine.begin() as conn:
        if not await networks.delete(conn, r.org_id, r.mode, r.id):
            raise not_found("social network", r.id)
    return api.Deleted(id=r.id)


async def add_redirect_uri(ctx: Context, r: api.RedirectUriAdd) -> api.RedirectUri:
    problem = redirect_uri_problem(r.uri)
    if problem:
        raise invalid("uri", "invalid_uri", problem)
    async with ctx.engine.begin() as conn:
        entry, _ = await redirects.add(conn, r.org_id, r.mode, r.uri, ctx.now())
    return entry


async def list_redirect_uris(ctx: Context, r: api.Scoped) -> api.RedirectUriPage:
    async with ctx.engine.connect() as conn:
        return api.RedirectUriPage(data=await redirects.all_of(conn, r.org_id, r.mode))


async def delete_redirect_uri(ctx: Context, r: api.RedirectUriRef) -> api.Deleted:
    async with ctx.engine.begin() as conn:
        if not await redirects.delete(conn, r.org_id, r.mode, r.id):
            raise not_found("redirect URI", r.id)
    return api.Deleted(id=r.id)


async def require_allowlisted(conn: AsyncConnection, org_id: str, mode: str, uri: str) -> None:
    if not await redirects.allowed(conn, org_id, mode, uri):
        raise fail(
            422,
            "redirect_uri_not_allowed",
            "redirect_uri is not on this organization's allowlist (POST /api/v1/redirect-uris); "
            "it must match an entry exactly",
            {"field": "redirect_uri"},
        )


@dataclass(frozen=True)
class App:
    """The credentials a flow or a refresh runs with, and which BYOK app they came from."""

    credentials: AppCredentials
    social_network_id: str | None
    name: str


async def app_for_flow(ctx: Context, conn: AsyncConnection, org_id: str, mode: str, platform: str) -> App:
    """The org's own app for the platform, else the installation's managed one; test mode uses the
    simulated platform and needs neither."""
    row = await networks.for_platform(conn, org_id, mode, platform)
    if mode == "test":
        return App(
            AppCredentials(SANDBOX_CLIENT_ID, "", ctx.settings.callback_url),
            row.id if row else None,
            (row.display_name if row else None) or "Crier sandbox",
        )
    if row is not None:
        return _byok(ctx, row)
    managed = _managed(ctx, platform)
    if managed is None and _needs_no_client(ctx, platform):
        return _clientless(ctx, platform)
    if managed is None:
        raise fail(
            422,
            "no_credentials",
            f"no {platform} app: register one with POST /api/v1/social-networks "
            "(or ask the operator for managed credentials)",
            {"platform": platform},
        )
    return managed


async def app_by_id(
    ctx: Context, conn: AsyncConnection, org_id: str, mode: str, platform: str, social_network_id: str | None
) -> App | None:
    """The app an account or a flow was started with; None when that BYOK app has been deleted."""
    if mode == "test":
        return App(AppCredentials(SANDBOX_CLIENT_ID, "", ctx.settings.callback_url), social_network_id, "sandbox")
    if social_network_id is None:
        return _managed(ctx, platform) or (_clientless(ctx, platform) if _needs_no_client(ctx, platform) else None)
    row = await networks.get(conn, org_id, mode, social_network_id)
    return _byok(ctx, row) if row is not None else None


def _byok(ctx: Context, row: Any) -> App:
    secret = ctx.vault.open(row.client_secret_enc, networks.secret_context(row.org_id, row.mode, row.platform))
    credentials = AppCredentials(
        client_id=row.client_id,
        client_secret=secret or "",
        redirect_uri=row.redirect_uri,
        scopes=tuple(row.scopes),
        instance_url=row.instance_url,
    )
    return App(credentials, row.id, row.display_name or row.platform)


def _needs_no_client(ctx: Context, platform: str) -> bool:
    """App-password platforms (Bluesky) log the user in directly: there is no client to register."""
    try:
        return getattr(ctx.providers.for_mode(platform, "live"), "flow", "redirect") == "app_password"
    except LookupError:
        return False


def _clientless(ctx: Context, platform: str) -> App:
    instance_url = getattr(ctx.settings, f"managed_{platform}_instance_url", "") or None
    return App(AppCredentials("", "", ctx.settings.callback_url, (), instance_url), None, "Crier")


def _managed(ctx: Context, platform: str) -> App | None:
    managed = ctx.settings.managed_app(platform)
    if managed is None:
        return None
    client_id, secret, instance_url = managed
    return App(AppCredentials(client_id, secret, ctx.settings.callback_url, (), instance_url), None, "Crier")
