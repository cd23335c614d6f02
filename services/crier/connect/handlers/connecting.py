"""Turning a grant into connected accounts: sealed tokens, reconnect in place, events in the same
transaction. Shared by the callback (one account), finalize (the chosen pages) and the hosted form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from crier.connect.adapters import accounts, end_users
from crier.connect.domain.seals import TokenKind, grant_context, token_context
from crier.connect.handlers.context import Context
from crier.contracts.common import PER_INSTANCE, AccountLimits, Mode, Platform
from crier.contracts.connect import PageChoice, SocialAccount
from crier.contracts.events import AccountConnected, AccountDisconnected, AccountRefreshed, AccountTokenExpired
from crier.kit.uow import Transaction
from crier.platforms.oauth import ConnectableAccount, TokenSet


@dataclass(frozen=True)
class Origin:
    """Whose flow a grant came from."""

    org_id: str
    mode: Mode
    platform: Platform
    tenant_id: str | None
    social_network_id: str | None
    sandbox: bool
    # Per-instance platforms: the instance the app is registered on (a Mastodon account lives there).
    instance_url: str | None = None


async def connect(
    ctx: Context, tx: Transaction, origin: Origin, tokens: TokenSet, chosen: list[ConnectableAccount]
) -> list[SocialAccount]:
    now = ctx.now()
    connected = []
    for account in chosen:
        # A Page that has its own token (Facebook, Instagram) keeps that token, which does not expire
        # and is not renewed with the user's grant; other accounts share the user's token set.
        own = account.access_token is not None
        access = account.access_token if own else tokens.access_token
        refresh = None if own else tokens.refresh_token
        nuid = account.network_unique_id
        row = await accounts.upsert(
            tx.conn,
            accounts.Connection(
                org_id=origin.org_id,
                mode=origin.mode,
                platform=origin.platform,
                network_unique_id=account.network_unique_id,
                username=account.username or account.display_name or account.network_unique_id,
                display_name=account.display_name,
                tenant_id=origin.tenant_id,
                account_type=account.account_type,
                sandbox=origin.sandbox,
                social_network_id=origin.social_network_id,
                profile_image_url=account.profile_image_url,
                scopes=list(tokens.scopes),
                access_token_enc=_seal(ctx, origin, nuid, access, "access"),
                refresh_token_enc=_seal(ctx, origin, nuid, refresh, "refresh"),
                token_expires_at=None if own else tokens.expires_at,
                refresh_expires_at=None if own else tokens.refresh_expires_at,
                instance_url=_instance(origin, tokens, account),
                max_characters=account.limits.max_characters,
            ),
            now,
        )
        tx.emit("evt.account.connected", connected_event(row))
        connected.append(row)
    if origin.tenant_id is not None and connected:
        await end_users.ensure(tx.conn, origin.org_id, origin.mode, origin.tenant_id, now)
    return connected


def _seal(ctx: Context, origin: Origin, network_unique_id: str, token: str | None, kind: TokenKind) -> str | None:
    return ctx.vault.seal(token, token_context(origin.org_id, origin.mode, origin.platform, network_unique_id, kind))


def _instance(origin: Origin, tokens: TokenSet, account: ConnectableAccount) -> str | None:
    """Where a per-instance account lives (Mastodon instance, Bluesky PDS): the instance its app
    is registered on, else where the platform said it is; None elsewhere."""
    if origin.platform not in PER_INSTANCE:
        return None
    if origin.instance_url:
        return origin.instance_url
    for extra in (account.extra, tokens.extra):
        for key in ("instance_url", "pds_url"):
            value = extra.get(key)
            if isinstance(value, str):
                return value
    return None


def page_choice(account: ConnectableAccount) -> PageChoice:
    return PageChoice(
        id=account.network_unique_id,
        type=account.account_type,
        name=account.display_name,
        username=account.username,
        profile_picture_url=account.profile_image_url,
    )


class _SealedGrant(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    scopes: list[str]
    accounts: list[dict[str, Any]]


def seal_grant(ctx: Context, tokens: TokenSet, candidates: list[ConnectableAccount], token_hash: str) -> str:
    """The grant a pending session holds while the user chooses, sealed to that session."""
    grant = _SealedGrant(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        refresh_expires_at=tokens.refresh_expires_at,
        scopes=list(tokens.scopes),
        accounts=[
            {
                "network_unique_id": a.network_unique_id,
                "username": a.username,
                "display_name": a.display_name,
                "account_type": a.account_type,
                "profile_image_url": a.profile_image_url,
                "access_token": a.access_token,
                "limits": a.limits,
            }
            for a in candidates
        ],
    )
    sealed = ctx.vault.seal(msgspec.json.encode(grant).decode(), grant_context(token_hash))
    assert sealed is not None
    return sealed


def open_grant(ctx: Context, sealed: str, token_hash: str) -> tuple[TokenSet, list[ConnectableAccount]]:
    grant = msgspec.json.decode((ctx.vault.open(sealed, grant_context(token_hash)) or "").encode(), type=_SealedGrant)
    tokens = TokenSet(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        expires_at=grant.expires_at,
        refresh_expires_at=grant.refresh_expires_at,
        scopes=tuple(grant.scopes),
    )
    return tokens, [
        ConnectableAccount(**{**a, "limits": msgspec.convert(a.get("limits") or {}, AccountLimits)})
        for a in grant.accounts
    ]


def _envelope(row: SocialAccount) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "occurred_at": row.updated_at,
        "org_id": row.org_id,
        "mode": row.mode,
        "account_id": row.id,
        "platform": row.platform,
        "tenant_id": row.tenant_id,
        "updated_at": row.updated_at,
    }


def connected_event(row: SocialAccount) -> AccountConnected:
    return AccountConnected(
        **_envelope(row),
        username=row.username,
        display_name=row.display_name,
        network_unique_id=row.network_unique_id,
        status=row.status,
        account_type=row.account_type,
        sandbox=row.sandbox,
        limits=row.limits,
    )


def disconnected_event(row: SocialAccount) -> AccountDisconnected:
    return AccountDisconnected(**_envelope(row))


def token_expired_event(row: SocialAccount) -> AccountTokenExpired:
    return AccountTokenExpired(**_envelope(row))


def refreshed_event(row: SocialAccount) -> AccountRefreshed:
    return AccountRefreshed(**_envelope(row), token_expires_at=row.token_expires_at, limits=row.limits)
