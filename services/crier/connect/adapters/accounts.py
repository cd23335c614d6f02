"""The social_accounts table: connected accounts and their sealed tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import social_accounts as t
from crier.connect.domain.accounts import ACTIVE, DISABLED, TOKEN_EXPIRED
from crier.contracts.common import AccountLimits, Mode, Platform
from crier.contracts.connect import SocialAccount
from crier.kit.pages import Page, after_cursor, newest_first, page_of

PUBLIC_COLUMNS = (
    "id",
    "org_id",
    "mode",
    "platform",
    "username",
    "display_name",
    "network_unique_id",
    "tenant_id",
    "account_type",
    "status",
    "sandbox",
    "created_at",
    "updated_at",
    "social_network_id",
    "profile_image_url",
    "scopes",
    "token_expires_at",
    "last_synced_at",
)


@dataclass(frozen=True)
class Connection:
    """One account as a grant delivers it; tokens are already sealed."""

    org_id: str
    mode: Mode
    platform: Platform
    network_unique_id: str
    username: str
    display_name: str | None
    tenant_id: str | None
    account_type: str
    sandbox: bool
    social_network_id: str | None = None
    profile_image_url: str | None = None
    scopes: list[str] = field(default_factory=list)
    access_token_enc: str | None = None
    refresh_token_enc: str | None = None
    token_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    instance_url: str | None = None
    # AccountLimits.max_characters (None: unknown, the platform's default).
    max_characters: int | None = None


def limits_of(row: Any) -> AccountLimits:
    return AccountLimits(max_characters=row.max_characters)


def public(row: Any) -> SocialAccount:
    return SocialAccount(**{k: getattr(row, k) for k in PUBLIC_COLUMNS}, limits=limits_of(row))


async def upsert(conn: AsyncConnection, c: Connection, now: datetime) -> SocialAccount:
    """Connect, or reconnect in place: same id, status active, new tokens; a refresh token the
    platform did not resend is kept, and so is what a token-less sandbox re-creation lacks."""
    values = {
        **c.__dict__,
        "id": str(uuid.uuid4()),
        "status": ACTIVE,
        "created_at": now,
        "updated_at": now,
        "last_synced_at": now,
    }
    stmt = insert(t).values(values)
    new = stmt.excluded
    has_token = new.access_token_enc.is_not(None)

    def when_token(column: str) -> Any:
        return sa.case((has_token, getattr(new, column)), else_=t.c[column])

    insert_or_update = stmt.on_conflict_do_update(
        index_elements=[t.c.org_id, t.c.mode, t.c.platform, t.c.network_unique_id],
        set_={
            "username": new.username,
            "display_name": new.display_name,
            "tenant_id": sa.func.coalesce(new.tenant_id, t.c.tenant_id),
            "account_type": new.account_type,
            "profile_image_url": sa.func.coalesce(new.profile_image_url, t.c.profile_image_url),
            "access_token_enc": sa.func.coalesce(new.access_token_enc, t.c.access_token_enc),
            "refresh_token_enc": sa.func.coalesce(new.refresh_token_enc, t.c.refresh_token_enc),
            "token_expires_at": when_token("token_expires_at"),
            "refresh_expires_at": sa.case(
                (new.refresh_token_enc.is_not(None), new.refresh_expires_at), else_=t.c.refresh_expires_at
            ),
            "scopes": when_token("scopes"),
            "social_network_id": when_token("social_network_id"),
            "instance_url": when_token("instance_url"),
            # A reconnect whose read of the limits failed keeps the ones read before.
            "max_characters": sa.func.coalesce(new.max_characters, t.c.max_characters),
            "status": ACTIVE,
            "deleted_at": None,
            "refresh_claimed_until": None,
            "updated_at": new.updated_at,
            "last_synced_at": new.last_synced_at,
        },
    ).returning(*t.c)
    return public((await conn.execute(insert_or_update)).one())


async def get(conn: AsyncConnection, org_id: str, mode: Mode, account_id: str) -> Any | None:
    """A visible (not deleted) account, with its sealed tokens."""
    query = sa.select(t).where(t.c.id == account_id, t.c.org_id == org_id, t.c.mode == mode, t.c.deleted_at.is_(None))
    return (await conn.execute(query)).first()


async def any_state(conn: AsyncConnection, org_id: str, mode: Mode, account_id: str) -> Any | None:
    """The account, disconnected (deleted) or not, with its sealed tokens."""
    query = sa.select(t).where(t.c.id == account_id, t.c.org_id == org_id, t.c.mode == mode)
    return (await conn.execute(query)).first()


async def lock(conn: AsyncConnection, account_id: str) -> Any | None:
    """The account row, locked until the transaction ends: token refreshes of one account never
    overlap (platforms with rotating refresh tokens invalidate the loser's)."""
    return (await conn.execute(sa.select(t).where(t.c.id == account_id).with_for_update())).first()


@dataclass(frozen=True)
class Filter:
    id: str | None = None
    tenant_id: str | None = None
    platform: str | None = None
    username: str | None = None
    network_unique_id: str | None = None


async def search(
    conn: AsyncConnection, org_id: str, mode: Mode, where: Filter, *, limit: int, cursor: str | None
) -> Page[SocialAccount]:
    conditions: list[Any] = [t.c.org_id == org_id, t.c.mode == mode, t.c.deleted_at.is_(None), *after_cursor(t, cursor)]
    for name in ("id", "tenant_id", "platform", "username", "network_unique_id"):
        value = getattr(where, name)
        if value is not None:
            conditions.append(t.c[name] == value)
    query = sa.select(t).where(*conditions).order_by(*newest_first(t)).limit(limit + 1)
    page = page_of(list((await conn.execute(query)).all()), limit)
    return Page([public(r) for r in page.rows], page.next_cursor)


async def of_tenant(
    conn: AsyncConnection, org_id: str, mode: Mode, tenant_id: str, platform: Platform | None = None
) -> list[Any]:
    conditions = [t.c.org_id == org_id, t.c.mode == mode, t.c.tenant_id == tenant_id, t.c.deleted_at.is_(None)]
    if platform is not None:
        conditions.append(t.c.platform == platform)
    return list((await conn.execute(sa.select(t).where(*conditions).order_by(*newest_first(t)))).all())


async def soft_delete(conn: AsyncConnection, account_id: str, now: datetime) -> SocialAccount:
    """Disabled and hidden; the tokens are wiped, since nothing may use them any more."""
    stmt = (
        t.update()
        .where(t.c.id == account_id)
        .values(
            status=DISABLED,
            deleted_at=now,
            updated_at=now,
            access_token_enc=None,
            refresh_token_enc=None,
            token_expires_at=None,
            refresh_expires_at=None,
            refresh_claimed_until=None,
        )
        .returning(*t.c)
    )
    return public((await conn.execute(stmt)).one())


async def store_refreshed(
    conn: AsyncConnection,
    account_id: str,
    *,
    access_token_enc: str,
    refresh_token_enc: str | None,
    expires_at: datetime | None,
    refresh_expires_at: datetime | None,
    scopes: list[str] | None,
    now: datetime,
) -> SocialAccount:
    values: dict[str, Any] = {
        "access_token_enc": access_token_enc,
        "token_expires_at": expires_at,
        "updated_at": now,
        "last_synced_at": now,
        "refresh_claimed_until": None,
    }
    if refresh_token_enc is not None:  # kept when the platform did not rotate it
        values |= {"refresh_token_enc": refresh_token_enc, "refresh_expires_at": refresh_expires_at}
    if scopes:
        values["scopes"] = scopes
    stmt = t.update().where(t.c.id == account_id).values(values).returning(*t.c)
    return public((await conn.execute(stmt)).one())


async def mark_token_expired(conn: AsyncConnection, account_id: str, now: datetime) -> SocialAccount:
    stmt = (
        t.update()
        .where(t.c.id == account_id)
        .values(status=TOKEN_EXPIRED, updated_at=now, refresh_claimed_until=None)
        .returning(*t.c)
    )
    return public((await conn.execute(stmt)).one())


async def mark_synced(conn: AsyncConnection, account_id: str, now: datetime) -> None:
    await conn.execute(t.update().where(t.c.id == account_id).values(last_synced_at=now))


async def store_limits(conn: AsyncConnection, account_id: str, limits: AccountLimits, now: datetime) -> SocialAccount:
    """The limits read again from the platform; the account is synced, and changed as of `now`."""
    values = {"max_characters": limits.max_characters, "last_synced_at": now, "updated_at": now}
    stmt = t.update().where(t.c.id == account_id).values(values).returning(*t.c)
    return public((await conn.execute(stmt)).one())


async def release(conn: AsyncConnection, account_id: str, retry_at: datetime) -> None:
    """Keep the lease until `retry_at`: a platform that could not answer is asked again later."""
    await conn.execute(t.update().where(t.c.id == account_id).values(refresh_claimed_until=retry_at))


async def claim_due(conn: AsyncConnection, now: datetime, *, window_s: float, lease_s: float, limit: int) -> list[str]:
    """Lease up to `limit` active accounts whose token expires within the window. SKIP LOCKED lets
    replicas claim disjoint sets; the lease keeps a claimed account off the others' lists."""
    due = (
        sa.select(t.c.id)
        .where(
            t.c.status == ACTIVE,
            t.c.refresh_token_enc.is_not(None),
            t.c.deleted_at.is_(None),
            t.c.token_expires_at <= now + timedelta(seconds=window_s),
            sa.or_(t.c.refresh_claimed_until.is_(None), t.c.refresh_claimed_until < now),
        )
        .order_by(t.c.token_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        t.update()
        .where(t.c.id.in_(due.scalar_subquery()))
        .values(refresh_claimed_until=now + timedelta(seconds=lease_s))
        .returning(t.c.id)
    )
    return list((await conn.execute(stmt)).scalars())
