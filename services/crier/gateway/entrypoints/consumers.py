"""What the gateway listens to: delivery reports for its posts, and account changes from connect."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from nats.aio.msg import Msg

from crier.contracts import events as contract
from crier.gateway.handlers.accounts import record_account_event
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.deliveries import record_target_report, record_target_reports
from crier.kit.bus import Bus, consumer, streams

DURABLE = "gateway"
SUBJECTS = ["evt.target.>", "evt.account.>"]
# Every subject we know how to read, and a raw fallback so events added to the contracts later
# are acknowledged and skipped instead of being logged as undecodable.
TYPES: dict[str, type] = {
    **{s: t for s, t in contract.EVENT_SUBJECTS.items() if s.startswith(("evt.target.", "evt.account."))},
    "evt.target.*": msgspec.Raw,
    "evt.account.*": msgspec.Raw,
}
TARGET_REPORTS = (
    contract.TargetQueued,
    contract.TargetPublishing,
    contract.TargetPublished,
    contract.TargetAttemptFailed,
    contract.TargetFailed,
    contract.TargetDeadLettered,
)
ACCOUNT_EVENTS = (
    contract.AccountConnected,
    contract.AccountDisconnected,
    contract.AccountTokenExpired,
    contract.AccountRefreshed,
)


class _Subject(msgspec.Struct):
    """What a report or account event is about: its post, or its account."""

    post_id: str | None = None
    account_id: str | None = None


_subject_of = msgspec.json.Decoder(_Subject)


def about(msg: Msg) -> str:
    """The key a message is ordered by: one post's reports are applied in stream order (each one
    appends to the post's history), while different posts' are written side by side."""
    try:
        subject = _subject_of.decode(msg.data)
    except msgspec.DecodeError:
        return ""  # undecodable: the handler dead-letters it, in the order of its own key
    return f"post:{subject.post_id}" if subject.post_id else f"account:{subject.account_id}"


async def run(bus: Bus, ctx: Context, stop: asyncio.Event, *, max_failures: int, concurrency: int = 1) -> None:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=SUBJECTS)

    async def handle(subject: str, message: Any, _: Msg) -> None:
        if isinstance(message, TARGET_REPORTS):
            await record_target_report(ctx, message)
        elif isinstance(message, ACCOUNT_EVENTS):
            await record_account_event(ctx, message)

    async def handle_together(items: list[tuple[str, Any, Msg]]) -> None:
        reports = [message for _, message, _ in items if isinstance(message, TARGET_REPORTS)]
        if len(reports) < len(items):
            raise consumer.OneByOne  # an account's events: one at a time, as ever
        await record_target_reports(ctx, reports)

    await consumer.run(
        bus,
        sub,
        TYPES,
        handle,
        stop,
        max_failures=max_failures,
        concurrency=concurrency,
        ordered_by=about,
        handle_together=handle_together,
    )
