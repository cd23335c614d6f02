"""Crier's own sign-in pages, where a platform has none of its own to send the user to: the
test-mode consent page (Approve / Deny) that stands in for a platform's authorization screen, and
the handle + app-password form of platforms without a browser redirect (Bluesky)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters import flows, networks
from crier.connect.adapters.providers import PlatformOAuth
from crier.connect.domain import flows as rules
from crier.connect.handlers import apps
from crier.connect.handlers.context import Context
from crier.connect.handlers.flows import complete, failed, provider
from crier.contracts import connect as api
from crier.contracts.common import Platform
from crier.kit.errors import Invalid, NotFound, Problem, Unavailable
from crier.kit.log import get
from crier.platforms.oauth import OAuthError, OAuthUnavailable, TokenSet

log = get(__name__)


async def _consentable(conn: AsyncConnection, ctx: Context, state: str) -> Any:
    row = await flows.state(conn, rules.digest(state))
    if (
        row is None
        or row.mode != "test"
        or row.consumed_at is not None
        or row.expires_at <= ctx.now()
        or (row.sandbox_code_hash is not None)
    ):
        raise NotFound.of("consent request", "(unknown, used or expired)")
    return row


async def sandbox_consent(ctx: Context, r: api.StateRef) -> api.SignInView:
    async with ctx.uow.read() as conn:
        row = await _consentable(conn, ctx, r.state)
        app = await networks.get(conn, row.org_id, row.mode, row.social_network_id) if row.social_network_id else None
    return api.SignInView(
        platform=row.platform,
        app_name=(app.display_name if app else None) or "Crier sandbox",
        scopes=list(row.scopes),
        tenant_id=row.tenant_id,
        org_id=row.org_id,
        mode=row.mode,
        connect_session_id=row.connect_session_id,
    )


async def sandbox_decide(ctx: Context, r: api.SandboxDecision) -> api.Outcome:
    async with ctx.uow.begin() as tx:
        row = await _consentable(tx.conn, ctx, r.state)
        if not r.approve:
            return api.Outcome(
                location=rules.with_params(
                    row.app_redirect_uri,
                    error="access_denied",
                    error_description="The user denied access",
                    state=r.state,
                )
            )
        code = rules.new_secret()
        if not await flows.grant_sandbox_code(tx.conn, row.state_hash, rules.digest(code), ctx.now()):
            raise NotFound.of("consent request", "(unknown, used or expired)")
    return api.Outcome(location=rules.with_params(row.app_redirect_uri, code=code, state=r.state))


async def _usable_state(conn: AsyncConnection, ctx: Context, state: str) -> Any:
    row = await flows.state(conn, rules.digest(state))
    if row is None or row.consumed_at is not None or row.expires_at <= ctx.now():
        raise NotFound.of("sign-in request", "(unknown, used or expired)")
    return row


async def app_password_view(ctx: Context, r: api.StateRef) -> api.SignInView:
    async with ctx.uow.read() as conn:
        row = await _usable_state(conn, ctx, r.state)
    if not provider(ctx, row.platform, row.mode).uses_app_password:
        raise NotFound.of("sign-in request", "(not an app-password platform)")
    return api.SignInView(
        platform=row.platform,
        app_name="Crier",
        scopes=list(row.scopes),
        tenant_id=row.tenant_id,
        org_id=row.org_id,
        mode=row.mode,
        connect_session_id=row.connect_session_id,
    )


async def _session(
    ctx: Context, oauth: PlatformOAuth, platform: Platform, r: api.AppPasswordLogin, given: str | None
) -> TokenSet:
    """A session on the account's PDS: the one given, else the one its handle or DID leads to,
    else the entryway's. Every PDS that comes from data (a DID document, the entryway's answer)
    passes the SSRF guard before anything is sent to it."""
    instance = given
    if instance is None:
        located = await oauth.locate_pds(r.identifier)
        instance = await apps.checked_instance(ctx, platform, located) if located else None
    tokens = await oauth.create_session(r.identifier, r.app_password, instance_url=instance)
    home = tokens.extra.get("pds_url")
    if isinstance(home, str) and home != instance:
        await apps.checked_instance(ctx, platform, home)
    return tokens


async def app_password_login(ctx: Context, r: api.AppPasswordLogin) -> api.Outcome:
    async with ctx.uow.read() as conn:
        row = await _usable_state(conn, ctx, r.state)
        app = await apps.app_by_id(
            ctx, conn, row.org_id, row.mode, row.platform, row.social_network_id, row.instance_url
        )
    oauth = provider(ctx, row.platform, row.mode, row.tenant_id, app.credentials.instance_url if app else None)
    if app is None or not oauth.uses_app_password:
        raise NotFound.of("sign-in request", "(not an app-password platform)")
    try:
        tokens = await _session(ctx, oauth, row.platform, r, app.credentials.instance_url)
        candidates = await oauth.accounts(tokens)
    except Problem as problem:
        raise Invalid.of([problem]) from None
    except OAuthUnavailable:
        raise Unavailable("platform_unavailable", "the platform did not answer; try again in a moment") from None
    except OAuthError as exc:
        # The state is not spent: the user can correct a typo and try again.
        log.info("connect.app_password_refused", platform=row.platform, reason=exc.code)
        raise Invalid("invalid_credentials", "the platform refused this handle and app password") from None
    async with ctx.uow.begin() as tx:
        if await flows.spend_state(tx.conn, row.state_hash, ctx.now()) is None:
            return await failed(tx.conn, ctx, row, rules.INVALID_STATE, settle=False)
    return await complete(ctx, row, app, tokens, candidates)
