"""What the gateway listens to: delivery reports for its posts, and account changes from connect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts import events as contract
from crier.gateway.handlers.accounts import account_event
from crier.gateway.handlers.deliveries import record_target_report
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
ACCOUNT_EVENTS = (contract.AccountConnected, contract.AccountDisconnected, contract.AccountTokenExpired)


async def run(bus: Bus, engine: AsyncEngine, stop: asyncio.Event, wake: Callable[[], None]) -> None:
    sub = await consumer.bind(bus, stream=streams.EVENTS, durable=DURABLE, subjects=SUBJECTS)

    async def handle(subject: str, message: Any, _: Msg) -> None:
        if isinstance(message, TARGET_REPORTS):
            await record_target_report(engine, message, wake)
        elif isinstance(message, ACCOUNT_EVENTS):
            await account_event(engine, message)

    await consumer.run(bus, sub, TYPES, handle, stop)
