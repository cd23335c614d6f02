"""The OAuth flow: start (auth URL with state and PKCE), the public callback, page selection, and
the test-mode consent page that stands in for a platform's authorization screen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters import flows
from crier.connect.adapters.providers import NoProvider, PlatformOAuth
from crier.connect.domain import flows as rules
from crier.connect.domain.accounts import check_tenant, known_platform
from crier.connect.domain.seals import verifier_context
from crier.connect.handlers import apps
from crier.connect.handlers.connecting import Origin, connect, page_choice, seal_grant
from crier.connect.handlers.context import Context
from crier.contracts import connect as api
from crier.contracts.common import Mode, Platform
from crier.kit.errors import Invalid, Problem, Unavailable, collect
from crier.kit.log import get
from crier.platforms import pkce
from crier.platforms.oauth import AppCredentials, ConnectableAccount, OAuthError, OAuthUnavailable, TokenSet

log = get(__name__)
# Spent OAuth states and pending sessions are kept this long past their expiry, then forgotten.
KEEP_EXPIRED_FLOWS = timedelta(days=1)


def provider(
    ctx: Context, platform: Platform, mode: Mode, tenant_id: str | None = None, instance_url: str | None = None
) -> PlatformOAuth:
    try:
        return ctx.providers.for_mode(platform, mode, subject=tenant_id, instance_url=instance_url)
    except NoProvider:
        raise Invalid("platform_not_supported", f"connecting {platform} accounts is not available") from None


async def flow_request(
    ctx: Context, platform: str, tenant_id: str | None, instance_url: str | None = None
) -> tuple[Platform, str | None]:
    """The platform and instance of a request that starts a flow, once all three are known to be
    valid and the instance may be called."""
    problems: list[Problem] = []
    known = collect(problems, lambda: known_platform(platform))
    collect(problems, lambda: check_tenant(tenant_id))
    instance = None
    if known is not None:
        try:
            instance = await apps.checked_instance(ctx, known, instance_url)
        except Problem as problem:
            problems.append(problem)
    if known is None or problems:
        raise Invalid.of(problems)
    return known, instance


async def auth_url(ctx: Context, r: api.AuthUrlRequest) -> api.AuthUrl:
    platform, instance_url = await flow_request(ctx, r.platform, r.tenant_id, r.instance_url)
    return await start(
        ctx,
        org_id=r.org_id,
        mode=r.mode,
        platform=platform,
        tenant_id=r.tenant_id,
        redirect_uri=r.redirect_uri,
        instance_url=instance_url,
    )


async def start(
    ctx: Context,
    *,
    org_id: str,
    mode: Mode,
    platform: Platform,
    tenant_id: str | None,
    redirect_uri: str,
    connect_session_id: str | None = None,
    instance_url: str | None = None,
) -> api.AuthUrl:
    """A new single-use state (stored as its digest) and, where the platform takes it, a PKCE
    verifier kept sealed on our side; the platform only ever sees the challenge.

    A platform that takes pushed requests (Bluesky) is called between two short visits to the
    database, never inside a transaction: a slow authorization server must not hold a connection
    (and whatever it locked) for as long as it takes to answer."""
    async with ctx.uow.read() as conn:
        # The allowlist may have changed since a hosted session was created: the redirect must still be on it.
        await apps.require_allowlisted(conn, org_id, mode, redirect_uri)
        app = await apps.app_for_flow(ctx, conn, org_id, mode, platform, instance_url)
    oauth = provider(ctx, platform, mode, tenant_id, app.credentials.instance_url)
    state, now = rules.new_secret(), ctx.now()
    state_hash = rules.digest(state)
    verifier = pkce.new_verifier() if oauth.uses_pkce else None
    scopes = app.credentials.scopes or oauth.default_scopes
    if oauth.signs_in_with_password(app.credentials):
        # No redirect to the platform: Crier's own page asks for the handle and app password.
        url = rules.with_params(f"{ctx.public_url}/connect/app-password", state=state)
    else:
        try:
            # The secret a pushed request keeps for the callback is sealed with the state like a
            # PKCE verifier.
            url, verifier = await oauth.begin(app.credentials, state=state, verifier=verifier, scopes=scopes)
        except OAuthUnavailable:
            raise Unavailable("platform_unavailable", "the platform did not answer; try again in a moment") from None
        except OAuthError as exc:  # the app is not usable as configured (e.g. Mastodon without an instance)
            raise Invalid(exc.code, exc.message, {"platform": platform}) from None
    expires_at = now + timedelta(seconds=ctx.settings.oauth_state_ttl_s)
    async with ctx.uow.begin() as tx:
        await flows.add_state(
            tx.conn,
            state_hash=state_hash,
            org_id=org_id,
            mode=mode,
            platform=platform,
            tenant_id=tenant_id,
            redirect_uri=redirect_uri,
            social_network_id=app.social_network_id,
            app_redirect_uri=app.credentials.redirect_uri,
            scopes=list(scopes),
            code_verifier_enc=ctx.vault.seal(verifier, verifier_context(state_hash)),
            connect_session_id=connect_session_id,
            instance_url=instance_url,
            expires_at=expires_at,
            created_at=now,
        )
    return api.AuthUrl(auth_url=url, expires_at=expires_at)


def _page(status: int, title: str, message: str) -> api.Outcome:
    return api.Outcome(page=api.ErrorPage(status=status, title=title, message=message))


async def failed(conn: AsyncConnection, ctx: Context, state: Any, code: str, *, settle: bool = True) -> api.Outcome:
    if settle:
        await flows.settle_session(conn, state.connect_session_id, rules.SESSION_FAILED, ctx.now(), error_code=code)
    log.info("connect.flow_failed", platform=state.platform, org_id=state.org_id, error_code=code)
    return api.Outcome(location=rules.error_redirect(state.redirect_uri, code, state.connect_session_id))


async def callback(ctx: Context, r: api.Callback) -> api.Outcome:
    if not r.state:
        return _page(400, "This sign-in link is incomplete", "The request carries no state. Start connecting again.")
    state_hash, now = rules.digest(r.state), ctx.now()
    async with ctx.uow.begin() as tx:
        state = await flows.spend_state(tx.conn, state_hash, now)
        if state is None:
            seen = await flows.state(tx.conn, state_hash)
            if seen is None:
                return _page(
                    400,
                    "This sign-in link is not valid",
                    "Crier does not know this request. Start connecting again from the app you came from.",
                )
            # A replay: the flow that spent this state carries on undisturbed.
            return await failed(tx.conn, ctx, seen, rules.INVALID_STATE, settle=False)
        if state.expires_at <= now:
            return await failed(tx.conn, ctx, state, rules.INVALID_STATE)
        if r.error:
            return await failed(tx.conn, ctx, state, rules.authorization_error_code(r.error))
        if not r.code or (state.mode == "test" and state.sandbox_code_hash != rules.digest(r.code)):
            return await failed(tx.conn, ctx, state, rules.EXCHANGE_FAILED)
        app = await apps.app_by_id(
            ctx, tx.conn, state.org_id, state.mode, state.platform, state.social_network_id, state.instance_url
        )
        if app is None:
            return await failed(tx.conn, ctx, state, rules.EXCHANGE_FAILED)
    # The state is spent and committed before the platform is called: a replay fails from here on.
    oauth = provider(ctx, state.platform, state.mode, state.tenant_id, app.credentials.instance_url)
    credentials = AppCredentials(
        app.credentials.client_id,
        app.credentials.client_secret,
        state.app_redirect_uri,
        tuple(state.scopes),
        app.credentials.instance_url,
    )
    verifier = ctx.vault.open(state.code_verifier_enc, verifier_context(state_hash))
    try:
        tokens = await oauth.exchange_code(credentials, code=r.code, code_verifier=verifier, iss=r.iss)
        candidates = await oauth.accounts(tokens)
    except (OAuthError, KeyError, ValueError, TypeError) as exc:  # the last three: an answer not as documented
        reason = getattr(exc, "code", None) or type(exc).__name__
        log.warning("connect.exchange_failed", platform=state.platform, org_id=state.org_id, reason=reason)
        async with ctx.uow.begin() as tx:
            return await failed(tx.conn, ctx, state, rules.exchange_error_code(reason))
    return await complete(ctx, state, app, tokens, candidates)


async def complete(
    ctx: Context, state: Any, app: apps.App, tokens: TokenSet, candidates: list[ConnectableAccount]
) -> api.Outcome:
    """One account: connect it now. Several: a pending session to choose from."""
    now = ctx.now()
    origin = Origin(
        org_id=state.org_id,
        mode=state.mode,
        platform=state.platform,
        tenant_id=state.tenant_id,
        social_network_id=app.social_network_id,
        sandbox=state.mode == "test",
        # An atproto OAuth client's account lives on the PDS its grant names (checked against the
        # issuer), whichever PDS the flow started on.
        instance_url=None if app.any_instance else app.credentials.instance_url,
    )
    async with ctx.uow.begin() as tx:
        if not candidates:
            return await failed(tx.conn, ctx, state, rules.NO_ACCOUNTS)
        if len(candidates) == 1:
            connected = await connect(ctx, tx, origin, tokens, candidates)
            await flows.settle_session(
                tx.conn, state.connect_session_id, rules.SESSION_CONNECTED, now, account_ids=[a.id for a in connected]
            )
            return api.Outcome(
                location=rules.connected_redirect(state.redirect_uri, connected[0].id, state.connect_session_id),
                accounts=connected,
            )
        token = rules.new_secret()
        token_hash = rules.digest(token)
        await flows.add_pending(
            tx.conn,
            token_hash=token_hash,
            org_id=origin.org_id,
            mode=origin.mode,
            platform=origin.platform,
            tenant_id=origin.tenant_id,
            social_network_id=origin.social_network_id,
            connect_session_id=state.connect_session_id,
            sandbox=origin.sandbox,
            pages=[as_dict(page_choice(c)) for c in candidates],
            grant_enc=seal_grant(ctx, tokens, candidates, token_hash),
            expires_at=now + timedelta(seconds=ctx.settings.pending_session_ttl_s),
            created_at=now,
        )
        await flows.settle_session(tx.conn, state.connect_session_id, rules.SESSION_PENDING_SELECTION, now)
    if state.connect_session_id is not None:
        return api.Outcome(location=rules.with_params(f"{ctx.public_url}/connect/select", session=token))
    return api.Outcome(location=rules.pending_redirect(state.redirect_uri, token))


def as_dict(choice: api.PageChoice) -> dict[str, Any]:
    return {f: getattr(choice, f) for f in choice.__struct_fields__}


async def forget_expired(ctx: Context) -> None:
    """Clear away OAuth states and pending sessions long past their expiry."""
    before = ctx.now() - KEEP_EXPIRED_FLOWS
    async with ctx.uow.begin() as tx:
        await flows.purge_states(tx.conn, before)
        await flows.purge_pending(tx.conn, before)
