"""A redriven target's command goes out again at once, as its new generation, under a message id
JetStream's duplicate window does not take for a replay of the first one."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget, lane_of
from crier.contracts.common import Container
from crier.contracts.events import PostCanceled, PostRedriven
from crier.kit.bus import Bus, streams
from tests.scheduler.test_firing import new_post, queued_events
from tests.support.bus import StreamMessage, eventually, outbox_empty, publish, read_stream

# A safety-net look at the timetable only once a minute: whatever fires sooner was woken.
SCHEDULER_ENV = {"CRIER_SCHEDULER_MAX_WAIT_S": "60"}


def redriven(post_id: str, target_ids: list[str], redrive: int) -> PostRedriven:
    return PostRedriven(
        id=secrets.token_hex(8),
        occurred_at=datetime.now(UTC),
        org_id="org_1",
        mode="test",
        post_id=post_id,
        target_ids=target_ids,
        redrive=redrive,
    )


async def messages_for(bus: Bus, db: AsyncEngine, target_id: str, n: int) -> list[StreamMessage] | None:
    """The target's commands on the PUBLISH stream once there are `n` of them and the outbox is empty."""
    if not await outbox_empty(db):
        return None
    found = [
        m
        for m in await read_stream(bus, streams.PUBLISH, "cmd.publish.>")
        if msgspec.json.decode(m.data, type=PublishTarget).target_id == target_id
    ]
    return found if len(found) >= n else None


async def test_a_redriven_target_fires_again_at_once_as_its_new_generation(bus: Bus, db: AsyncEngine) -> None:
    post = new_post(2, containers=[Container(content="root"), Container(content="reply")])
    redone, untouched = (t.target_id for t in post.targets)
    await publish(bus, "evt.post.created", post)
    [first] = await eventually(lambda: messages_for(bus, db, redone, 1), what="the first command")

    asked = time.monotonic()
    await publish(bus, "evt.post.redriven", redriven(post.post_id, [redone], 1))
    first_again, second = await eventually(lambda: messages_for(bus, db, redone, 2), what="the redriven command")
    assert time.monotonic() - asked < 10, "fired by the alarm's safety net, not at once"
    assert first_again == first
    assert (first.headers["Nats-Msg-Id"], second.headers["Nats-Msg-Id"]) == (redone, f"{redone}:r1")
    original = msgspec.json.decode(first.data, type=PublishTarget)
    assert msgspec.json.decode(second.data, type=PublishTarget) == msgspec.structs.replace(original, redrive=1)
    events = await eventually(
        lambda: _at_least(queued_events(bus, post.post_id), 3), what="evt.target.queued of the redrive"
    )
    assert sorted((e.target_id, e.redrive) for e in events) == sorted([(redone, 0), (redone, 1), (untouched, 0)])
    assert await messages_for(bus, db, untouched, 2) is None


async def test_a_redrive_fires_each_target_once_per_generation(bus: Bus, db: AsyncEngine) -> None:
    post = new_post(1)
    target = post.targets[0].target_id
    await publish(bus, "evt.post.created", post)
    await eventually(lambda: messages_for(bus, db, target, 1), what="the first command")
    once = redriven(post.post_id, [target], 1)
    await publish(bus, "evt.post.redriven", once)
    await eventually(lambda: messages_for(bus, db, target, 2), what="the first redrive's command")
    # The same event again past JetStream's dedupe (the inbox drops it), and another event of a
    # generation the target already reached (the timetable's generation check drops it).
    await publish(bus, "evt.post.redriven", once, msg_id=secrets.token_hex(8))
    await publish(bus, "evt.post.redriven", redriven(post.post_id, [target], 1))
    await publish(bus, "evt.post.redriven", redriven(post.post_id, [target], 2))
    found = await eventually(lambda: messages_for(bus, db, target, 3), what="the second redrive's command")
    assert [m.headers["Nats-Msg-Id"] for m in found] == [target, f"{target}:r1", f"{target}:r2"]
    # Handled in order: nothing the replays might have sent can still be on its way.
    assert len(await messages_for(bus, db, target, 3) or []) == 3


async def test_a_redriven_scheduled_target_queues_with_the_immediate_ones(bus: Bus, db: AsyncEngine) -> None:
    # Its first delivery was due at a moment and went ahead of the queue; a retry someone asked for
    # later is no moment anyone set, so it takes its organisation's immediate lane.
    post = new_post(1, at=datetime.now(UTC) + timedelta(seconds=1))
    target = post.targets[0].target_id
    await publish(bus, "evt.post.created", post)
    [first] = await eventually(lambda: messages_for(bus, db, target, 1), what="the due command")
    await publish(bus, "evt.post.redriven", redriven(post.post_id, [target], 1))
    _, second = await eventually(lambda: messages_for(bus, db, target, 2), what="the redriven command")
    lane = lane_of("org_1")
    assert (first.subject, second.subject) == (f"cmd.publish.x.due.{lane}", f"cmd.publish.x.now.{lane}")
    assert msgspec.json.decode(second.data, type=PublishTarget).due_at == post.scheduled_at


async def test_a_redrive_never_fires_a_canceled_target(bus: Bus, db: AsyncEngine) -> None:
    post = new_post(1, at=datetime.now(UTC) + timedelta(hours=1))
    target = post.targets[0].target_id
    await publish(bus, "evt.post.created", post)
    envelope = {"occurred_at": datetime.now(UTC), "org_id": "org_1", "mode": "test", "post_id": post.post_id}
    await publish(bus, "evt.post.canceled", PostCanceled(id=secrets.token_hex(8), **envelope, target_ids=[target]))
    await publish(bus, "evt.post.redriven", redriven(post.post_id, [target], 1))
    # A later redrive of another post fires: the canceled target's redrive was handled before it.
    other = new_post(1)
    other_target = other.targets[0].target_id
    await publish(bus, "evt.post.created", other)
    await eventually(lambda: messages_for(bus, db, other_target, 1), what="the other post's command")
    await publish(bus, "evt.post.redriven", redriven(other.post_id, [other_target], 1))
    await eventually(lambda: messages_for(bus, db, other_target, 2), what="the other post's redrive")
    async with db.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT canceled, fired_at, command->>'redrive' AS r FROM timetable WHERE target_id = :t"),
                {"t": target},
            )
        ).one()
    assert (row.canceled, row.fired_at, row.r) == (True, None, "0")
    assert await messages_for(bus, db, target, 1) is None


async def _at_least(probe, n: int):  # type: ignore[no-untyped-def]
    found = await probe
    return found if len(found) >= n else None
