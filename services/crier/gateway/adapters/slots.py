"""Posting slots and slot reservations: an organization's recurring times, and which instant each
queued post took for each of its accounts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters.tables import accounts, metadata, post_targets, posts
from crier.gateway.domain.slots import Placement, Slot

TS = sa.DateTime(timezone=True)

posting_slots = sa.Table(
    "posting_slots",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("social_account_id", sa.Text),
    sa.Column("weekday", sa.SmallInteger),
    sa.Column("minute_of_day", sa.SmallInteger, nullable=False),
)

slot_reservations = sa.Table(
    "slot_reservations",
    metadata,
    sa.Column("org_id", sa.Text, primary_key=True),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("scheduled_at", TS, primary_key=True),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("slot_account_id", sa.Text),
    sa.Column("weekday", sa.SmallInteger),
    sa.Column("minute_of_day", sa.SmallInteger, nullable=False),
    sa.Column("timezone", sa.Text, nullable=False),
)

# A reservation outlives its post's time by this much before it is swept: nothing is offered in
# the past, and a day leaves the row to show which slot a post that just went out took.
KEEP_PAST = timedelta(days=1)
# Only a target still on its way keeps an instant taken.
_GONE = ("canceled",)


# The slot a post holds, beside its `posts` row in a select of `posts` (`post_queries`): the
# reservation still at the post's instant (an edit that moves the post leaves it behind), as one
# anonymous record that asyncpg decodes with its columns' types, or NULL. `held` reads it.
HELD = sa.literal_column(
    "(SELECT ROW(r.slot_account_id, r.weekday, r.minute_of_day, r.timezone) FROM slot_reservations r"
    " WHERE r.post_id = posts.id AND r.scheduled_at = posts.scheduled_at ORDER BY r.account_id LIMIT 1)"
).label("slot")


def held(record: tuple[Any, ...] | None) -> tuple[Slot, str] | None:
    """The slot and its zone, from a post's `HELD` value."""
    if record is None:
        return None
    slot_account_id, weekday, minute_of_day, zone = record
    return Slot(minute_of_day, weekday, slot_account_id), zone


def _slot_of(row: Any) -> Slot:
    return Slot(minute_of_day=row.minute_of_day, weekday=row.weekday, social_account_id=row.social_account_id)


async def replace(conn: AsyncConnection, org_id: str, mode: Mode, slots: Sequence[Slot]) -> None:
    await conn.execute(posting_slots.delete().where(posting_slots.c.org_id == org_id, posting_slots.c.mode == mode))
    if slots:
        await conn.execute(
            posting_slots.insert(),
            [
                {
                    "org_id": org_id,
                    "mode": mode,
                    "social_account_id": s.social_account_id,
                    "weekday": s.weekday,
                    "minute_of_day": s.minute_of_day,
                }
                for s in slots
            ],
        )


async def of_org(
    conn: AsyncConnection, org_id: str, mode: Mode, account_ids: Sequence[str] | None = None
) -> list[Slot]:
    """Every slot of the organization; with `account_ids`, the org-wide ones and those accounts' own."""
    where = [posting_slots.c.org_id == org_id, posting_slots.c.mode == mode]
    if account_ids is not None:
        where.append(
            sa.or_(posting_slots.c.social_account_id.is_(None), posting_slots.c.social_account_id.in_(account_ids))
        )
    return [_slot_of(r) for r in await conn.execute(sa.select(posting_slots).where(*where))]


async def known_accounts(conn: AsyncConnection, org_id: str, mode: Mode, ids: Sequence[str]) -> set[str]:
    """The ids among `ids` of accounts the organization has in this mode (not deleted)."""
    rows = await conn.scalars(
        sa.select(accounts.c.id).where(
            accounts.c.id.in_(ids),
            accounts.c.org_id == org_id,
            accounts.c.mode == mode,
            accounts.c.status != "disabled",
        )
    )
    return set(rows)


async def tenant_accounts(conn: AsyncConnection, org_id: str, mode: Mode, tenant_id: str) -> list[Any]:
    return list(
        await conn.execute(
            sa.select(accounts).where(
                accounts.c.org_id == org_id,
                accounts.c.mode == mode,
                accounts.c.tenant_id == tenant_id,
                accounts.c.status == "active",
            )
        )
    )


async def lock(conn: AsyncConnection, account_ids: Sequence[str]) -> None:
    """Holds, until the transaction ends, the queue of each account: a second create queuing to
    one of them waits here, then reads the first one's post and reservation as committed. Taken
    in one order, so two creates over overlapping accounts cannot deadlock."""
    for account_id in sorted(set(account_ids)):
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"slot:{account_id}", 0))))


async def taken(
    conn: AsyncConnection, org_id: str, mode: Mode, account_ids: Sequence[str] | None, start: datetime, end: datetime
) -> set[datetime]:
    """The instants in [start, end] at which a post (queued or scheduled by hand, not a draft) is
    still going out to any of `account_ids` (None: to any account of the organization's)."""
    by_account = [] if account_ids is None else [post_targets.c.account_id.in_(account_ids)]
    rows = await conn.scalars(
        sa.select(posts.c.scheduled_at)
        .distinct()
        .join(post_targets, post_targets.c.post_id == posts.c.id)
        .where(
            posts.c.org_id == org_id,
            posts.c.mode == mode,
            posts.c.is_draft.is_(False),
            posts.c.scheduled_at.between(start, end),
            post_targets.c.status.not_in(_GONE),
            *by_account,
        )
    )
    return set(rows)


async def sweep(conn: AsyncConnection, org_id: str, account_ids: Sequence[str], now: datetime) -> None:
    """Frees the reservations of these accounts that no post holds any more: its target was
    canceled, its post moved to another time, or its time is long past. Run under `lock`."""
    holder = (
        sa.select(sa.literal(1))
        .select_from(post_targets.join(posts, posts.c.id == post_targets.c.post_id))
        .where(
            post_targets.c.post_id == slot_reservations.c.post_id,
            post_targets.c.account_id == slot_reservations.c.account_id,
            posts.c.scheduled_at == slot_reservations.c.scheduled_at,
            posts.c.is_draft.is_(False),
            post_targets.c.status.not_in(_GONE),
        )
    )
    await conn.execute(
        slot_reservations.delete().where(
            slot_reservations.c.org_id == org_id,
            slot_reservations.c.account_id.in_(account_ids),
            sa.or_(~sa.exists(holder), slot_reservations.c.scheduled_at < now - KEEP_PAST),
        )
    )


async def release(conn: AsyncConnection, post_id: str) -> None:
    await conn.execute(slot_reservations.delete().where(slot_reservations.c.post_id == post_id))


async def reserve(
    conn: AsyncConnection,
    *,
    org_id: str,
    mode: Mode,
    account_ids: Sequence[str],
    placement: Placement,
    timezone: str,
    post_id: str,
) -> None:
    """One row per account at the placement's instant. The primary key (org, account, instant)
    refuses a second post at it even if a writer ever skipped `lock`."""
    slot = placement.slot
    await conn.execute(
        slot_reservations.insert(),
        [
            {
                "org_id": org_id,
                "mode": mode,
                "account_id": a,
                "scheduled_at": placement.at,
                "post_id": post_id,
                "slot_account_id": slot.social_account_id,
                "weekday": slot.weekday,
                "minute_of_day": slot.minute_of_day,
                "timezone": timezone,
            }
            for a in dict.fromkeys(account_ids)
        ],
    )
