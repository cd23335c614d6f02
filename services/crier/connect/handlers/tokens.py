"""Renewing an account's access token, for the background refresher, the health probe and the
publisher's token requests; and giving an account up when its grant is gone.

The account row stays locked (SELECT … FOR UPDATE) while the platform is asked, so two refreshes
of one account never overlap, across every replica: with rotating refresh tokens (X, TikTok) the
second would present a token the first has just spent, and the platform would revoke the grant.
Whether a refresh is still needed is decided again under that lock, since whoever waited for it
may find the work done.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import replace
from datetime import timedelta

from crier.connect.adapters import accounts
from crier.connect.domain.accounts import ACTIVE, due_for_refresh
from crier.connect.domain.flows import digest
from crier.connect.domain.seals import TokenKind, token_context
from crier.connect.handlers import apps
from crier.connect.handlers.connecting import refreshed_event, token_expired_event
from crier.connect.handlers.context import Context
from crier.kit.log import get
from crier.kit.transient import is_transient
from crier.platforms.oauth import GrantRevoked, OAuthError, OAuthUnavailable

log = get(__name__)
RETRY_AFTER_UNAVAILABLE_S = 60.0
# Accounts one sweep leases, and for how long: a replica that dies mid-sweep frees them after that.
SWEEP_BATCH = 100
SWEEP_LEASE_S = 300.0


class Refresh(enum.Enum):
    REFRESHED = "refreshed"
    NOT_DUE = "not_due"
    REVOKED = "revoked"  # the account is now token_expired
    UNAVAILABLE = "unavailable"  # try again later; nothing changed
    FAILED = "failed"  # the platform refused for another reason (e.g. the app's credentials)
    NO_APP = "no_app"  # the BYOK app that connected the account was deleted
    REPLACED = "replaced"  # the refused token is no longer the current one: someone renewed it


# `crier_token_refreshes_total`'s outcome, for the results that tried to renew a token: an app gone
# from under its accounts leaves them unrenewed (and tried again later) like a platform's refusal.
METRIC_OUTCOME = {
    Refresh.REFRESHED: "refreshed",
    Refresh.REVOKED: "revoked",
    Refresh.UNAVAILABLE: "failed",
    Refresh.FAILED: "failed",
    Refresh.NO_APP: "failed",
}


async def refresh_due(ctx: Context) -> dict[Refresh, int]:
    """One sweep: lease the accounts whose token expires soon (FOR UPDATE SKIP LOCKED, so replicas
    take disjoint sets) and refresh them a few at a time; how many ended which way."""
    async with ctx.uow.begin() as tx:
        ids = await accounts.claim_due(
            tx.conn, ctx.now(), window_s=ctx.settings.refresh_before_s, lease_s=SWEEP_LEASE_S, limit=SWEEP_BATCH
        )
    gate = asyncio.Semaphore(max(1, ctx.settings.refresh_concurrency))

    async def one(account_id: str) -> Refresh:
        async with gate:
            try:
                return await refresh(ctx, account_id, only_if_due=True)
            except Exception as exc:  # one account's surprise must not stop the others
                if is_transient(exc):
                    # The database or a service went away mid-sweep: the lease runs out and the next
                    # sweep (whose claim then meets the outage and logs it) takes the account again.
                    return Refresh.UNAVAILABLE
                log.exception("connect.refresh_crashed", account_id=account_id, error=type(exc).__name__)
                return Refresh.FAILED

    outcomes = await asyncio.gather(*(one(i) for i in ids))
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    if ids:
        log.info("connect.refresh_sweep", **{o.value: n for o, n in counts.items()})
    return counts


async def refresh(ctx: Context, account_id: str, *, only_if_due: bool, rejected_sha256: str | None = None) -> Refresh:
    """`rejected_sha256`: renew only if the current access token is still the one the platform
    refused (by its SHA-256); otherwise someone else renewed it meanwhile (REPLACED)."""
    result, platform = await _renew(ctx, account_id, only_if_due=only_if_due, rejected_sha256=rejected_sha256)
    # Counted once its transaction is over: a refresh whose commit failed raised instead.
    if platform is not None and result in METRIC_OUTCOME:
        ctx.meters.token_refreshes.labels(platform=platform, outcome=METRIC_OUTCOME[result]).inc()
    return result


async def _renew(
    ctx: Context, account_id: str, *, only_if_due: bool, rejected_sha256: str | None
) -> tuple[Refresh, str | None]:
    """How the refresh ended, and the account's platform once its row is known."""
    now = ctx.now()
    async with ctx.uow.begin() as tx:
        row = await accounts.lock(tx.conn, account_id)
        if row is None or row.status != ACTIVE or row.deleted_at is not None or row.refresh_token_enc is None:
            return Refresh.NOT_DUE, None

        def context(kind: TokenKind) -> str:
            return token_context(row.org_id, row.mode, row.platform, row.network_unique_id, kind)

        if rejected_sha256 is not None:
            current = ctx.vault.open(row.access_token_enc, context("access"))
            if _sha256(current) != rejected_sha256:
                return Refresh.REPLACED, row.platform
        if only_if_due and not due_for_refresh(row.token_expires_at, now, ctx.settings.refresh_before_s):
            await accounts.release(tx.conn, account_id, now)
            return Refresh.NOT_DUE, row.platform
        app = await apps.app_by_id(ctx, tx.conn, row.org_id, row.mode, row.platform, row.social_network_id)
        if app is None:
            await accounts.release(tx.conn, account_id, now + timedelta(seconds=ctx.settings.refresh_before_s))
            return Refresh.NO_APP, row.platform

        instance_url = row.instance_url or app.credentials.instance_url
        oauth = ctx.providers.for_mode(row.platform, row.mode, subject=row.tenant_id, instance_url=instance_url)
        credentials = replace(app.credentials, instance_url=instance_url)
        refresh_token = ctx.vault.open(row.refresh_token_enc, context("refresh"))
        assert refresh_token is not None
        try:
            tokens = await oauth.refresh(credentials, refresh_token)
        except GrantRevoked:
            account = await accounts.mark_token_expired(tx.conn, account_id, now)
            tx.emit("evt.account.token_expired", token_expired_event(account))
            log.info("connect.token_expired", account_id=account_id, platform=row.platform)
            return Refresh.REVOKED, row.platform
        except OAuthUnavailable as exc:
            wait = exc.retry_after_s or RETRY_AFTER_UNAVAILABLE_S
            await accounts.release(tx.conn, account_id, now + timedelta(seconds=wait))
            log.warning("connect.refresh_unavailable", account_id=account_id, platform=row.platform, reason=exc.code)
            return Refresh.UNAVAILABLE, row.platform
        except OAuthError as exc:
            await accounts.release(tx.conn, account_id, now + timedelta(seconds=RETRY_AFTER_UNAVAILABLE_S))
            log.warning("connect.refresh_failed", account_id=account_id, platform=row.platform, reason=exc.code)
            return Refresh.FAILED, row.platform
        account = await accounts.store_refreshed(
            tx.conn,
            account_id,
            access_token_enc=ctx.vault.seal(tokens.access_token, context("access")) or "",
            refresh_token_enc=ctx.vault.seal(tokens.refresh_token, context("refresh")),
            expires_at=tokens.expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
            scopes=list(tokens.scopes) or None,
            now=now,
        )
        tx.emit("evt.account.refreshed", refreshed_event(account))
    return Refresh.REFRESHED, row.platform


async def expire(ctx: Context, account_id: str, *, rejected_sha256: str | None = None) -> None:
    """The platform refused the account's token and nothing can renew it: the grant is gone, the
    account becomes token_expired and says so. With `rejected_sha256`, only while the refused
    token is still the current one (a reconnect meanwhile brought a new grant)."""
    async with ctx.uow.begin() as tx:
        row = await accounts.lock(tx.conn, account_id)
        if row is None or row.status != ACTIVE or row.deleted_at is not None:
            return
        if rejected_sha256 is not None:
            context = token_context(row.org_id, row.mode, row.platform, row.network_unique_id, "access")
            if _sha256(ctx.vault.open(row.access_token_enc, context)) != rejected_sha256:
                return
        account = await accounts.mark_token_expired(tx.conn, account_id, ctx.now())
        tx.emit("evt.account.token_expired", token_expired_event(account))
    log.info("connect.token_expired", account_id=account_id, platform=row.platform)


def _sha256(token: str | None) -> str | None:
    return None if token is None else digest(token)
