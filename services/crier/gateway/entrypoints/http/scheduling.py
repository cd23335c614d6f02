"""/api/v1/scheduling: an organization's posting slots, and the next free one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody
from msgspec import Meta, Struct

from crier.gateway.domain.slots import Slot
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import scheduling as uc

Zone = Annotated[str, Meta(min_length=1, max_length=64, examples=["America/New_York"])]


class PostingSlot(Struct, kw_only=True, forbid_unknown_fields=True):
    """A recurring local time: `weekday` 0 = Sunday … 6 = Saturday (null: every day),
    `minute_of_day` minutes since local midnight (570 = 9:30), and `social_account_id` for one
    account's own slot (null: org-wide)."""

    weekday: Annotated[int, Meta(description="0 = Sunday … 6 = Saturday; null: every day", examples=[1])] | None = None
    minute_of_day: Annotated[int, Meta(description="minutes since local midnight, 0 to 1439", examples=[570])]
    social_account_id: (
        Annotated[str, Meta(min_length=1, max_length=128, description="the account the slot is for; null: org-wide")]
        | None
    ) = None


class PostingSlots(Struct, kw_only=True, forbid_unknown_fields=True):
    slots: Annotated[list[PostingSlot], Meta(max_length=2_000, description="the whole slot set")]


class FindSlot(Struct, kw_only=True, forbid_unknown_fields=True):
    """`timezone` is the IANA zone the slots are wall-clock times in (UTC when omitted)."""

    timezone: Zone | None = None
    accounts: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=128)]],
        Meta(max_length=100, description="social account ids: their own slots count, and their posts take instants"),
    ] = []
    # `from` is a Python keyword.
    not_before: Annotated[str, Meta(description="ISO 8601 with an offset; no slot before it (default: now)")] | None = (
        msgspec.field(default=None, name="from")
    )
    min_lead_minutes: Annotated[int, Meta(description="no slot sooner than this many minutes from now")] = 0


class FoundSlot(Struct, kw_only=True):
    scheduled_at: Annotated[datetime, Meta(description="the slot's instant in UTC: send it as a post's scheduled_at")]
    timezone: Annotated[str, Meta(description="the zone the slot was read in")]
    slot: PostingSlot


def posting_slot(slot: Slot) -> PostingSlot:
    return PostingSlot(weekday=slot.weekday, minute_of_day=slot.minute_of_day, social_account_id=slot.social_account_id)


def _slot(body: PostingSlot) -> Slot:
    return Slot(minute_of_day=body.minute_of_day, weekday=body.weekday, social_account_id=body.social_account_id)


class SchedulingController(Controller):
    path = "/api/v1/scheduling"
    tags = ["scheduling"]

    @put(
        "/slots",
        operation_id="replacePostingSlots",
        opt=requires("manage"),
        status_code=200,
        responses=documented(400),
        summary="Replace the posting slots",
    )
    async def replace(self, request: Request[Any, Any, Any], data: JSONBody[PostingSlots]) -> PostingSlots:
        """The organization's whole slot set (for the key's mode) becomes the one sent: send the
        full schedule, and an empty list to clear it. 422 `validation_error` names a slot out of
        range or repeated (`slots[i]`); `unknown_account` lists slot accounts the organization does
        not have. The answer is the set as stored, org-wide slots first."""
        stored = await uc.replace_slots(gateway_of(request).ctx, principal_of(request), [_slot(s) for s in data.slots])
        return PostingSlots(slots=[posting_slot(s) for s in stored])

    @get(
        "/slots",
        operation_id="listPostingSlots",
        opt=requires("view"),
        responses=documented(),
        summary="The posting slots",
    )
    async def list_slots(self, request: Request[Any, Any, Any]) -> PostingSlots:
        stored = await uc.list_slots(gateway_of(request).ctx, principal_of(request))
        return PostingSlots(slots=[posting_slot(s) for s in stored])

    @post(
        "/find-slot",
        operation_id="findPostingSlot",
        opt=requires("view"),
        status_code=200,
        responses=documented(400),
        summary="The next free posting slot, as a UTC instant",
    )
    async def find_slot(self, request: Request[Any, Any, Any], data: JSONBody[FindSlot]) -> FoundSlot:
        """Walks the slots forward in `timezone` (org-wide slots, and those of the `accounts`
        named) from `from` (default now), at least `min_lead_minutes` ahead, and answers the first
        whose instant no post, queued or scheduled, is going out at to any of `accounts` (with no
        accounts: to any account). Advisory: nothing is reserved; send the answer as
        `scheduled_at`, or create the post with `queued_from_account` to have a slot reserved.
        A local time that does not exist (a spring-forward gap) is shifted forward by the gap; one
        that happens twice (a fall-back overlap) is its first occurrence. 422 `no_free_slot` when
        every slot in the next 30 days is taken, `no_posting_slots` when none apply,
        `validation_error` for an unknown `timezone` (`unknown_timezone`)."""
        search = uc.SlotSearch(
            timezone=data.timezone,
            accounts=data.accounts,
            not_before=data.not_before,
            min_lead_minutes=data.min_lead_minutes,
        )
        found = await uc.find_slot(gateway_of(request).ctx, principal_of(request), search)
        return FoundSlot(
            scheduled_at=found.placement.at, timezone=found.timezone, slot=posting_slot(found.placement.slot)
        )
