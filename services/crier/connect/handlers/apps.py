"""Platform apps (BYOK social networks, managed credentials) and the redirect allowlist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters import networks, redirects
from crier.connect.adapters.providers import NoProvider
from crier.connect.domain.accounts import known_platform
from crier.connect.domain.flows import redirect_uri_problem
from crier.connect.domain.instances import check_platform, normalized, parse_instance
from crier.connect.domain.seals import client_secret_context
from crier.connect.handlers.context import Context
from crier.contracts import connect as api
from crier.contracts.common import Mode, Platform
from crier.kit.errors import Invalid, NotFound, Problem, collect
from crier.kit.pages import checked_limit
from crier.platforms.atproto import oauth as atproto_oauth
from crier.platforms.oauth import AppCredentials, OAuthError

SANDBOX_CLIENT_ID = "crier-sandbox"


def _check_redirect_uri(url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        raise Problem("redirect_uri", "invalid_url", "must be an http(s) URL of at most 2048 characters")


async def checked_instance(ctx: Context, platform: Platform, url: str | None) -> str | None:
    """The instance URL in its one spelling, once the SSRF guard has let it through."""
    if url is None:
        return None
    check_platform(platform, url)
    instance = parse_instance(url)
    await ctx.providers.vet_instance(instance)
    return instance.url


async def upsert(ctx: Context, r: api.NetworkUpsert) -> api.Network:
    problems: list[Problem] = []
    platform = collect(problems, lambda: known_platform(r.platform))
    collect(problems, lambda: _check_redirect_uri(r.redirect_uri))
    instance_url = None
    if platform is not None:
        try:
            instance_url = await checked_instance(ctx, platform, r.instance_url)
        except Problem as problem:
            problems.append(problem)
    if platform is None or problems:
        raise Invalid.of(problems)
    redirect_uri = r.redirect_uri or ctx.settings.callback_url
    client_id, client_secret = r.client_id, r.client_secret
    if client_id and not client_secret and _any_instance(platform, client_id):
        client_secret = ""  # a public atproto client: PKCE and a DPoP key prove it, no secret does
    elif not client_id or not client_secret:
        if platform != "mastodon" or not instance_url:
            raise Invalid.one(
                "client_id",
                "required",
                "client_id and client_secret are required (Mastodon alone can register itself, given "
                "instance_url; a Bluesky client metadata URL needs no secret)",
            )
        client_id, client_secret = await _register_on_instance(ctx, instance_url, redirect_uri, tuple(r.scopes))
    sealed = ctx.vault.seal(client_secret, client_secret_context(r.org_id, r.mode, platform))
    assert sealed is not None
    async with ctx.uow.begin() as tx:
        row = await networks.upsert(
            tx.conn,
            org_id=r.org_id,
            mode=r.mode,
            platform=platform,
            display_name=r.display_name,
            client_id=client_id,
            client_secret_enc=sealed,
            redirect_uri=redirect_uri,
            scopes=list(dict.fromkeys(r.scopes)),
            instance_url=instance_url,
            now=ctx.now(),
        )
    return networks.public(row)


async def _register_on_instance(
    ctx: Context, instance_url: str, redirect_uri: str, scopes: tuple[str, ...]
) -> tuple[str, str]:
    """Mastodon's per-instance app registration."""
    try:
        app = await ctx.providers.register_on_instance(instance_url, redirect_uri, scopes)
    except OAuthError as exc:
        problem = Problem("instance_url", exc.code, f"could not register Crier on {instance_url}")
        raise Invalid.of([problem], code="instance_registration_failed") from None
    return app.client_id, app.client_secret


async def list_networks(ctx: Context, r: api.NetworkList) -> api.NetworkPage:
    limit = checked_limit(r.limit)
    async with ctx.uow.read() as conn:
        page = await networks.page(conn, r.org_id, r.mode, limit=limit, cursor=r.cursor)
    return api.NetworkPage(data=page.rows, next_cursor=page.next_cursor)


async def get_network(ctx: Context, r: api.NetworkRef) -> api.Network:
    async with ctx.uow.read() as conn:
        row = await networks.get(conn, r.org_id, r.mode, r.id)
    if row is None:
        raise NotFound.of("social network", r.id)
    return networks.public(row)


async def delete_network(ctx: Context, r: api.NetworkRef) -> api.Deleted:
    async with ctx.uow.begin() as tx:
        if not await networks.delete(tx.conn, r.org_id, r.mode, r.id):
            raise NotFound.of("social network", r.id)
    return api.Deleted(id=r.id)


async def add_redirect_uri(ctx: Context, r: api.RedirectUriAdd) -> api.RedirectUri:
    problem = redirect_uri_problem(r.uri)
    if problem:
        raise Invalid.one("uri", "invalid_uri", problem)
    async with ctx.uow.begin() as tx:
        return await redirects.add(tx.conn, r.org_id, r.mode, r.uri, ctx.now())


async def list_redirect_uris(ctx: Context, r: api.Scoped) -> api.RedirectUriPage:
    async with ctx.uow.read() as conn:
        return api.RedirectUriPage(data=await redirects.all_of(conn, r.org_id, r.mode))


async def delete_redirect_uri(ctx: Context, r: api.RedirectUriRef) -> api.Deleted:
    async with ctx.uow.begin() as tx:
        if not await redirects.delete(tx.conn, r.org_id, r.mode, r.id):
            raise NotFound.of("redirect URI", r.id)
    return api.Deleted(id=r.id)


async def require_allowlisted(conn: AsyncConnection, org_id: str, mode: Mode, uri: str) -> None:
    if not await redirects.allowed(conn, org_id, mode, uri):
        problem = Problem(
            "redirect_uri",
            "not_allowed",
            "redirect_uri is not on this organization's allowlist (POST /api/v1/redirect-uris); "
            "it must match an entry exactly",
        )
        raise Invalid.of([problem], code="redirect_uri_not_allowed")


@dataclass(frozen=True)
class App:
    """The credentials a flow or a refresh runs with, and which BYOK app they came from."""

    credentials: AppCredentials
    social_network_id: str | None
    name: str
    # An atproto OAuth client (Bluesky): on no PDS in particular. `credentials.instance_url` is then
    # where the flow starts, and the account lives where its grant says.
    any_instance: bool = False


def _any_instance(platform: Platform, client_id: str) -> bool:
    """Whether an app is an atproto OAuth client: its id is the URL of its client metadata document,
    which every authorization server fetches for itself, so it serves accounts on every PDS."""
    return platform == "bluesky" and atproto_oauth.is_client_id(client_id)


async def app_for_flow(
    ctx: Context, conn: AsyncConnection, org_id: str, mode: Mode, platform: Platform, instance_url: str | None = None
) -> App:
    """The org's own app for the platform (on `instance_url`, for per-instance platforms, or an
    atproto OAuth client, which serves every PDS), else the installation's managed one; test mode
    uses the simulated platform and needs neither."""
    rows = await networks.of_platform(conn, org_id, mode, platform)
    if mode == "test":
        row = rows[0] if rows else None
        return App(
            AppCredentials(SANDBOX_CLIENT_ID, "", ctx.settings.callback_url),
            row.id if row else None,
            (row.display_name if row else None) or "Crier sandbox",
        )
    if instance_url is not None:
        rows = [r for r in rows if r.instance_url == instance_url] or [
            r for r in rows if _any_instance(platform, r.client_id)
        ]
    if len(rows) > 1:
        instances = sorted(r.instance_url or "" for r in rows)
        raise Invalid(
            "instance_required",
            f"this organization has {platform} apps on several instances: name one with instance_url",
            {"platform": platform, "instances": instances},
        )
    if rows:
        return _byok(ctx, rows[0], instance_url)
    managed = _managed(ctx, platform, instance_url)
    if managed is None and _needs_no_client(ctx, platform):
        return _clientless(ctx, platform, instance_url)
    if managed is None:
        where = f" on {instance_url}" if instance_url else ""
        raise Invalid(
            "no_credentials",
            f"no {platform} app{where}: register one with POST /api/v1/social-networks "
            "(or ask the operator for managed credentials)",
            {"platform": platform, **({"instance_url": instance_url} if instance_url else {})},
        )
    return managed


async def app_by_id(
    ctx: Context,
    conn: AsyncConnection,
    org_id: str,
    mode: Mode,
    platform: Platform,
    social_network_id: str | None,
    instance_url: str | None = None,
) -> App | None:
    """The app an account or a flow was started with; None when that BYOK app has been deleted.
    Without a BYOK app, `instance_url` is the instance the flow named (a PDS given at sign-in)."""
    if mode == "test":
        return App(AppCredentials(SANDBOX_CLIENT_ID, "", ctx.settings.callback_url), social_network_id, "sandbox")
    if social_network_id is None:
        managed = _managed(ctx, platform, instance_url)
        if managed is not None:
            return managed
        return _clientless(ctx, platform, instance_url) if _needs_no_client(ctx, platform) else None
    row = await networks.get(conn, org_id, mode, social_network_id)
    return _byok(ctx, row, instance_url) if row is not None else None


def _byok(ctx: Context, row: Any, instance_url: str | None = None) -> App:
    """The org's app; an atproto OAuth client's flow starts on `instance_url` (the PDS the flow
    named), else on the PDS the client was registered with, if any."""
    secret = ctx.vault.open(row.client_secret_enc, client_secret_context(row.org_id, row.mode, row.platform))
    any_instance = _any_instance(row.platform, row.client_id)
    credentials = AppCredentials(
        client_id=row.client_id,
        client_secret=secret or "",
        redirect_uri=row.redirect_uri,
        scopes=tuple(row.scopes),
        instance_url=(instance_url or row.instance_url) if any_instance else row.instance_url,
    )
    return App(credentials, row.id, row.display_name or row.platform, any_instance)


def _needs_no_client(ctx: Context, platform: Platform) -> bool:
    """App-password platforms (Bluesky) log the user in directly: there is no client to register."""
    try:
        return ctx.providers.for_mode(platform, "live").uses_app_password
    except NoProvider:
        return False


def _clientless(ctx: Context, platform: Platform, instance_url: str | None = None) -> App:
    instance_url = instance_url or getattr(ctx.settings, f"managed_{platform}_instance_url", "") or None
    return App(AppCredentials("", "", ctx.settings.callback_url, (), instance_url), None, "Crier")


def _managed(ctx: Context, platform: Platform, instance_url: str | None = None) -> App | None:
    """The installation's app for `platform`; on `instance_url`, if one is named, or none (an
    atproto OAuth client is on every PDS)."""
    managed = ctx.settings.managed_app(platform)
    if managed is None:
        return None
    client_id, secret, on = managed
    if _any_instance(platform, client_id):
        credentials = AppCredentials(client_id, secret, ctx.settings.callback_url, (), instance_url or on)
        return App(credentials, None, "Crier", any_instance=True)
    if instance_url is not None and normalized(on) != instance_url:
        return None
    return App(AppCredentials(client_id, secret, ctx.settings.callback_url, (), on), None, "Crier")
