"""Use cases of posting slots: replace and read an organization's slot set, find the next free
slot, and, for a new post, address an end user's platforms and take a queue slot."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crier.gateway.adapters import slots as store
from crier.gateway.adapters.post_queries import PostRecord
from crier.gateway.domain import addressing
from crier.gateway.domain.addressing import QueueRequest
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.schedule import parse_instant
from crier.gateway.domain.slots import WINDOW, Placement, Slot, checked_slots, earliest, next_free, zone_named
from crier.gateway.domain.validation import NewPost, PostRequest, refused
from crier.gateway.handlers.context import Context
from crier.kit.errors import Invalid, Problem, collect
from crier.kit.uow import Transaction

# The longest lead a find-slot may ask: beyond the window nothing could be found anyway.
MAX_LEAD_MINUTES = int(WINDOW.total_seconds() // 60)


@dataclass(frozen=True)
class SlotSearch:
    timezone: str | None
    accounts: Sequence[str] = ()
    not_before: str | None = None
    min_lead_minutes: int = 0


@dataclass(frozen=True)
class Found:
    placement: Placement
    timezone: str


@dataclass(frozen=True)
class Queued:
    """A queue slot a new post took, to reserve once the post has its id."""

    placement: Placement
    timezone: str
    account_ids: list[str]


def _checked(action: Any) -> Any:
    try:
        return action()
    except Problem as problem:
        raise refused([problem], {}) from None


async def replace_slots(ctx: Context, who: Principal, slots: Sequence[Slot]) -> list[Slot]:
    """The organization's slot set (in the key's mode) becomes exactly `slots`."""
    checked: list[Slot] = _checked(lambda: checked_slots(slots))
    named = sorted({s.social_account_id for s in checked if s.social_account_id is not None})
    async with ctx.uow.begin() as tx:
        unknown = set(named) - await store.known_accounts(tx.conn, who.org_id, who.mode, named)
        if unknown:
            raise Invalid(
                "unknown_account",
                "some slots name accounts that do not exist or belong to another organization or mode",
                {"accounts": sorted(unknown)},
            )
        await store.replace(tx.conn, who.org_id, who.mode, checked)
    return checked


async def list_slots(ctx: Context, who: Principal) -> list[Slot]:
    async with ctx.uow.read() as conn:
        return checked_slots(await store.of_org(conn, who.org_id, who.mode))


async def find_slot(ctx: Context, who: Principal, search: SlotSearch) -> Found:
    """The next slot (org-wide, or one of `accounts`' own) whose instant no post is going out at
    to any of `accounts`; with no accounts, to any account of the organization's."""
    zone = _checked(lambda: zone_named(search.timezone))
    now = ctx.now()
    not_before = _checked(lambda: _not_before(search.not_before, now))
    if not 0 <= search.min_lead_minutes <= MAX_LEAD_MINUTES:
        raise refused([Problem("min_lead_minutes", "out_of_range", f"must be 0 to {MAX_LEAD_MINUTES}")], {})
    ids = list(dict.fromkeys(search.accounts))
    start, end = earliest(now, not_before, search.min_lead_minutes), now + WINDOW
    async with ctx.uow.read() as conn:
        if ids:
            unknown = set(ids) - await store.known_accounts(conn, who.org_id, who.mode, ids)
            if unknown:
                raise Invalid(
                    "unknown_account",
                    "some accounts do not exist or belong to another organization or mode",
                    {"accounts": sorted(unknown)},
                )
        slots = await store.of_org(conn, who.org_id, who.mode, ids or None)
        if not ids:
            slots = [s for s in slots if s.social_account_id is None]
        taken = await store.taken(conn, who.org_id, who.mode, ids or None, start, end)
    placement = next_free(slots, zone, start, end, taken)
    if placement is None:
        raise _no_slot(bool(slots))
    return Found(placement, zone.key)


def _not_before(raw: str | None, now: datetime) -> datetime | None:
    if raw is None:
        return None
    try:
        when = parse_instant(raw, "from")
    except OverflowError:  # a time at the edge of the calendar that UTC cannot hold
        raise Problem("from", "invalid_timestamp", "must be an ISO-8601 timestamp") from None
    if when > now + WINDOW:
        raise Problem("from", "too_far_ahead", "must be at most 30 days ahead: no slot is offered beyond")
    return when


def _no_slot(has_slots: bool) -> Invalid:
    if not has_slots:
        return Invalid("no_posting_slots", "no posting slots apply: define them with PUT /scheduling/slots")
    return Invalid("no_free_slot", "every posting slot within the next 30 days is taken")


async def address(ctx: Context, who: Principal, request: PostRequest) -> tuple[PostRequest, QueueRequest | None]:
    """The request with an end user's platforms resolved to their active accounts, and its queue
    mode, checked against the rest of it (a queue picks the time: no `scheduled_at`, no draft)."""
    asked = request.addressing
    if asked is None:
        return request, None
    problems: list[Problem] = []
    audience = collect(problems, lambda: addressing.audience_of(asked.tenant_id, asked.platforms, request.accounts))
    queue = collect(
        problems,
        lambda: addressing.queue_of(
            asked.queued_from_account,
            asked.queue_timezone,
            asked.timezone,
            scheduled_at=request.scheduled_at,
            is_draft=request.is_draft,
        ),
    )
    if problems:
        raise refused(problems, {})
    if audience is not None:
        async with ctx.uow.read() as conn:
            rows = await store.tenant_accounts(conn, who.org_id, who.mode, audience.tenant_id)
        ids = _checked(lambda: addressing.end_user_accounts(audience, rows))
        request = dataclasses.replace(request, accounts=ids)
    return request, queue


async def take_slot(
    ctx: Context, tx: Transaction, who: Principal, queue: QueueRequest | None, new: NewPost, found: dict[str, Any]
) -> tuple[NewPost, Queued | None]:
    """For a post in queue mode: the post at the next free slot of the account it is queued from,
    free for every account the post targets. The accounts' queues stay locked until `tx` ends, so
    concurrent creates take distinct slots."""
    if queue is None:
        return new, None
    zone = _checked(lambda: zone_named(queue.timezone, "queue_timezone"))
    source = _checked(lambda: addressing.queued_account(queue.account, [found[a] for a in new.accounts]))
    await store.lock(tx.conn, new.accounts)
    now = ctx.now()
    start, end = earliest(now, None, 0), now + WINDOW
    await store.sweep(tx.conn, who.org_id, new.accounts, now)
    slots = await store.of_org(tx.conn, who.org_id, who.mode, [source.id])
    taken = await store.taken(tx.conn, who.org_id, who.mode, new.accounts, start, end)
    placement = next_free(slots, zone, start, end, taken)
    if placement is None:
        raise _no_slot(bool(slots))
    queued = Queued(placement, zone.key, list(new.accounts))
    return dataclasses.replace(new, scheduled_at=placement.at), queued


async def reserve(tx: Transaction, who: Principal, queued: Queued | None, record: PostRecord) -> PostRecord:
    """Records the slot the new post took; the record then shows it."""
    if queued is None:
        return record
    await store.reserve(
        tx.conn,
        org_id=who.org_id,
        mode=who.mode,
        account_ids=queued.account_ids,
        placement=queued.placement,
        timezone=queued.timezone,
        post_id=record.post.id,
    )
    return dataclasses.replace(record, slot=(queued.placement.slot, queued.timezone))
