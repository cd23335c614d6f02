"""The publisher's one question to connect: the account's current access token, renewed first
when it is about to expire or the platform has just refused it, with what else the publisher's
calls need to act as the account.

The token travels only in this reply: never in an event, a log line or the publisher's database.
Two deliveries that were refused the same token both present it (`rejected_sha256`); the first
renews it under the account's row lock, the second finds it already replaced and gets the new one.
"""

from __future__ import annotations

from typing import Any

from crier.connect.adapters import accounts
from crier.connect.domain.accounts import DISABLED, TOKEN_EXPIRED
from crier.connect.domain.flows import digest
from crier.connect.domain.seals import token_context
from crier.connect.domain.tokens import Need, publishing_extra, still_valid, token_need
from crier.connect.handlers.context import Context
from crier.connect.handlers.tokens import Refresh, expire, refresh
from crier.contracts import connect as api
from crier.contracts.common import PER_INSTANCE
from crier.kit.errors import Gone, Invalid, NotFound, Unavailable
from crier.kit.log import get

log = get(__name__)


def _grant_gone() -> Gone:
    return Gone(
        "account_token_expired",
        "the platform no longer accepts this account's grant: its user must connect it again",
    )


async def account_token(ctx: Context, r: api.TokenRequest) -> api.AccountToken:
    row = await _usable(ctx, r)
    access = _access(ctx, row)
    current = digest(access)
    refused = r.rejected_sha256 is not None and r.rejected_sha256.lower() == current
    need = token_need(
        now=ctx.now(),
        expires_at=row.token_expires_at,
        renewable=row.refresh_token_enc is not None,
        rejected=refused,
        window_s=ctx.settings.refresh_before_s,
    )
    if need is Need.SERVE:
        return _token(row, access)
    if need is Need.EXPIRE:
        await expire(ctx, row.id, rejected_sha256=current)
        return await _current(ctx, r)  # gone, unless a reconnect brought a new grant meanwhile
    if refused:
        log.info("connect.token_rejected", account_id=row.id, platform=row.platform)
    outcome = await refresh(ctx, row.id, only_if_due=not refused, rejected_sha256=current if refused else None)
    if outcome is Refresh.REVOKED:
        raise _grant_gone()
    if outcome in (Refresh.UNAVAILABLE, Refresh.FAILED, Refresh.NO_APP):
        if not refused and still_valid(row.token_expires_at, ctx.now()):
            # Renewal can wait (the refresher tries again): the token still works for now.
            return _token(row, access)
        raise _not_renewed(outcome)
    return await _current(ctx, r)  # renewed here, renewed by someone else, or not due after all


def _not_renewed(outcome: Refresh) -> Gone | Unavailable:
    if outcome is Refresh.NO_APP:
        return Gone(
            "no_credentials",
            "the app that connected this account was deleted: register it again and reconnect the account",
        )
    if outcome is Refresh.FAILED:
        return Unavailable("refresh_failed", "the platform refused to renew the token; try again later")
    return Unavailable("platform_unavailable", "the platform did not answer; try again in a moment")


async def _usable(ctx: Context, r: api.TokenRequest) -> Any:
    async with ctx.uow.read() as conn:
        row = await accounts.any_state(conn, r.org_id, r.mode, r.account_id)
    if row is None:
        raise NotFound.of("social account", r.account_id)
    if row.sandbox:
        raise Invalid("sandbox_account", "a sandbox account has no platform token: the sandbox publishes for it")
    if row.status == DISABLED or row.deleted_at is not None:
        raise Gone("account_disconnected", "the account was disconnected")
    if row.status == TOKEN_EXPIRED or row.access_token_enc is None:
        raise _grant_gone()
    return row


async def _current(ctx: Context, r: api.TokenRequest) -> api.AccountToken:
    row = await _usable(ctx, r)
    return _token(row, _access(ctx, row))


def _access(ctx: Context, row: Any) -> str:
    context = token_context(row.org_id, row.mode, row.platform, row.network_unique_id, "access")
    access = ctx.vault.open(row.access_token_enc, context)
    assert access is not None
    return access


def _token(row: Any, access: str) -> api.AccountToken:
    return api.AccountToken(
        account_id=row.id,
        platform=row.platform,
        access_token=access,
        expires_at=row.token_expires_at,
        network_unique_id=row.network_unique_id,
        username=row.username,
        account_type=row.account_type,
        instance_url=row.instance_url if row.platform in PER_INSTANCE else None,
        extra=publishing_extra(row.platform, row.account_type, row.network_unique_id),
        limits=accounts.limits_of(row),
    )
