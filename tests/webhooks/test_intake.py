"""The intake's failures: a message it cannot handle ends on the DEAD stream with its error, and
the rest of its batch is delivered."""

from __future__ import annotations

import asyncio
import uuid

import msgspec

from crier.kit.bus import Bus, streams
from tests.support.bus import StreamMessage, read_stream
from tests.support.stack import Services
from tests.webhooks.conftest import SERVICE_ENV
from tests.webhooks.support import Receiver, eventually, new_endpoint, new_org, target_published


async def _dead(bus: Bus, event_id: str) -> StreamMessage | None:
    for m in await read_stream(bus, streams.DEAD, "dead.evt.target.published"):
        try:
            if msgspec.json.decode(m.data).get("id") == event_id:
                return m
        except msgspec.DecodeError:
            continue
    return None


async def test_a_message_that_keeps_failing_is_dead_lettered_and_the_rest_delivered(
    bus: Bus, receiver: Receiver, webhooks_service: Services
) -> None:
    org = new_org()
    path = receiver.new_path()
    await new_endpoint(bus, org, receiver.url(path), ["post.published"])
    before, after = target_published(org, "tgt_before"), target_published(org, "tgt_after")
    # Decodes fine, but Postgres text cannot hold a NUL character: every try fails the same way.
    poison = target_published(org + "\x00", "tgt_poison")
    # Sent back to back, in this order, so that one batch is likely to hold all three.
    acks = [
        await bus.js.publish_async(
            bus.subject("evt.target.published"), msgspec.json.encode(e), headers={"Nats-Msg-Id": e.id}
        )
        for e in (before, poison, after)
    ]
    await asyncio.gather(*acks)

    async def both() -> list | None:
        found = receiver.received(path)
        return found if len(found) >= 2 else None

    delivered = await eventually(both, what="the rest of the batch")
    assert [r.json()["data"]["target_id"] for r in delivered] == ["tgt_before", "tgt_after"]

    dead = await eventually(lambda: _dead(bus, poison.id), what="the message on DEAD")
    assert msgspec.json.decode(dead.data)["org_id"] == poison.org_id
    assert dead.headers["Crier-Consumer"] == "webhooks"
    assert dead.headers["Crier-Failures"] == SERVICE_ENV["CRIER_CONSUMER_MAX_FAILURES"]
    assert "0x00" in dead.headers["Crier-Error"], dead.headers["Crier-Error"]
    assert "webhooks.intake_failed" in webhooks_service.logs()
    assert len(receiver.received(path)) == 2


async def test_an_undecodable_message_is_dead_lettered_at_once(bus: Bus) -> None:
    garbage = b"{not json " + uuid.uuid4().hex.encode()
    await bus.js.publish(bus.subject("evt.target.published"), garbage, headers={"Nats-Msg-Id": uuid.uuid4().hex})

    async def dead() -> StreamMessage | None:
        found = await read_stream(bus, streams.DEAD, "dead.evt.target.published")
        return next((m for m in found if m.data == garbage), None)

    message = await eventually(dead, what="the undecodable message on DEAD")
    assert message.headers["Crier-Failures"] == "1" and "undecodable" in message.headers["Crier-Error"]
