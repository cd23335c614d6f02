"""The scheduler against real Postgres and JetStream: targets fire once, on time, unless canceled."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget, lane_of
from crier.contracts.common import Container
from crier.contracts.events import PostCanceled, PostCreated, TargetQueued, TargetSpec
from crier.kit.bus import Bus, streams
from tests.support.bus import eventually, outbox_empty, publish, read_stream


def new_post(
    targets: int = 1, *, at: datetime | None = None, platforms: tuple[str, ...] = ("x",), **kw: object
) -> PostCreated:
    post_id = f"post_{secrets.token_hex(6)}"
    specs = [
        TargetSpec(
            target_id=f"{post_id}_t{i}",
            account_id=f"acc_{i}",
            platform=platforms[i % len(platforms)],
            account_username=f"user{i}",
        )
        for i in range(targets)
    ]
    base: dict = {
        "id": secrets.token_hex(8),
        "occurred_at": datetime.now(UTC),
        "org_id": "org_1",
        "mode": "test",
        "post_id": post_id,
        "containers": [Container(content="hello")],
        "targets": specs,
        "scheduled_at": at,
    }
    return PostCreated(**{**base, **kw})


async def rows(db: AsyncEngine, post_id: str) -> list[sa.Row]:
    async with db.connect() as conn:
        result = await conn.execute(
            sa.text(
                "SELECT target_id, due_at, fired_at, canceled FROM timetable WHERE post_id = :p ORDER BY target_id"
            ),
            {"p": post_id},
        )
        return list(result)


async def fired(db: AsyncEngine, post_id: str) -> list[sa.Row]:
    return [r for r in await rows(db, post_id) if r.fired_at is not None]


async def commands(bus: Bus, post_id: str) -> list[PublishTarget]:
    found = [
        msgspec.json.decode(m.data, type=PublishTarget)
        for m in await read_stream(bus, streams.PUBLISH, "cmd.publish.>")
    ]
    return [c for c in found if c.post_id == post_id]


async def sent(bus: Bus, db: AsyncEngine, post_id: str) -> list[PublishTarget]:
    """The post's commands on the stream once the relay has published everything firing wrote.

    Firing commits the rows and their outbox messages together; the relay publishes them a moment
    later. Reading the stream as soon as a row says `fired` can miss a command still in the outbox.
    """
    await eventually(lambda: outbox_empty(db), what="the outbox relayed to the stream")
    return await commands(bus, post_id)


async def queued_events(bus: Bus, post_id: str) -> list[TargetQueued]:
    found = [
        msgspec.json.decode(m.data, type=TargetQueued)
        for m in await read_stream(bus, streams.EVENTS, "evt.target.queued")
    ]
    return [e for e in found if e.post_id == post_id]


async def test_immediate_post_sends_one_command_per_target(bus: Bus, db: AsyncEngine) -> None:
    post = new_post(
        3,
        platforms=("x", "linkedin", "bluesky"),
        config={"x": {"reply_settings": "following"}},
        containers=[Container(content="root"), Container(content="first comment")],
    )
    post = msgspec.structs.replace(
        post,
        targets=[
            msgspec.structs.replace(post.targets[0], override_body="just for x"),
            *post.targets[1:],
        ],
    )
    await publish(bus, "evt.post.created", post)
    sent = await eventually(lambda: _all(commands(bus, post.post_id), 3), what="three commands")
    by_platform = {c.platform: c for c in sent}
    assert set(by_platform) == {"x", "linkedin", "bluesky"}
    assert [c.content for c in by_platform["x"].containers] == ["just for x", "first comment"]
    assert [c.content for c in by_platform["linkedin"].containers] == ["root", "first comment"]
    assert by_platform["x"].config == {"reply_settings": "following"} and by_platform["bluesky"].config == {}
    assert all(c.id == c.target_id and c.mode == "test" for c in sent)
    # An immediate target travels on its organisation's lane of the platform's immediate tier.
    assert all(c.due_at is None for c in sent)
    lane = f"cmd.publish.x.now.{lane_of('org_1')}"
    messages = [m for m in await read_stream(bus, streams.PUBLISH) if m.subject == lane]
    assert any(m.headers.get("Nats-Msg-Id") == by_platform["x"].target_id for m in messages)
    events = await eventually(lambda: _all(queued_events(bus, post.post_id), 3), what="queued events")
    assert sorted(e.target_id for e in events) == sorted(t.target_id for t in post.targets)


async def test_scheduled_target_fires_within_a_second_of_its_time(bus: Bus, db: AsyncEngine) -> None:
    # A far-away target first: the alarm is set for it and must be woken by the nearer one.
    far = new_post(1, at=datetime.now(UTC) + timedelta(days=1))
    await publish(bus, "evt.post.created", far)
    await eventually(lambda: rows(db, far.post_id), what="far row")
    near = new_post(2, at=datetime.now(UTC) + timedelta(seconds=2))
    await publish(bus, "evt.post.created", near)
    done = await eventually(lambda: _all(fired(db, near.post_id), 2), timeout=10, what="near targets fired")
    for row in done:
        lateness = (row.fired_at - row.due_at).total_seconds()
        assert 0 <= lateness < 1.0, lateness
        assert row.due_at == near.scheduled_at
    assert await fired(db, far.post_id) == []
    assert len(await sent(bus, db, near.post_id)) == 2
    # Scheduled, so due now: the due lane, ahead of the immediate targets, with its moment.
    lane = f"cmd.publish.x.due.{lane_of('org_1')}"
    on_lane = [msgspec.json.decode(m.data, type=PublishTarget) for m in await read_stream(bus, streams.PUBLISH, lane)]
    mine = [c for c in on_lane if c.post_id == near.post_id]
    assert len(mine) == 2 and all(c.due_at == near.scheduled_at for c in mine)


async def test_canceled_target_never_fires(bus: Bus, db: AsyncEngine) -> None:
    # Time enough for the cancellation to be handled first, even on a loaded machine.
    post = new_post(2, at=datetime.now(UTC) + timedelta(seconds=3))
    await publish(bus, "evt.post.created", post)
    await eventually(lambda: _all(rows(db, post.post_id), 2), what="rows")
    keep, drop = post.targets
    await publish(
        bus,
        "evt.post.canceled",
        PostCanceled(
            id=secrets.token_hex(8),
            occurred_at=datetime.now(UTC),
            org_id="org_1",
            mode="test",
            post_id=post.post_id,
            target_ids=[drop.target_id],
        ),
    )
    await eventually(lambda: _canceled(db, drop.target_id), what="cancellation recorded")
    await eventually(lambda: _all(fired(db, post.post_id), 1), timeout=10, what="kept target fired")
    assert [c.target_id for c in await sent(bus, db, post.post_id)] == [keep.target_id]
    assert [r.target_id for r in await rows(db, post.post_id) if r.fired_at is None] == [drop.target_id]


async def test_cancellation_handled_before_the_creation_still_wins(bus: Bus, db: AsyncEngine) -> None:
    post = new_post(1)
    await publish(
        bus,
        "evt.post.canceled",
        PostCanceled(
            id=secrets.token_hex(8),
            occurred_at=datetime.now(UTC),
            org_id="org_1",
            mode="test",
            post_id=post.post_id,
            target_ids=[post.targets[0].target_id],
        ),
    )
    await publish(bus, "evt.post.created", post)
    row = (await eventually(lambda: rows(db, post.post_id), what="row"))[0]
    assert row.canceled and row.fired_at is None
    # A later immediate post fires, so the alarm has looked at the timetable since.
    other = new_post(1)
    await publish(bus, "evt.post.created", other)
    await eventually(lambda: fired(db, other.post_id), what="later post fired")
    assert await fired(db, post.post_id) == [] and await sent(bus, db, post.post_id) == []


async def test_drafts_and_replayed_events_do_not_schedule_anything(bus: Bus, db: AsyncEngine) -> None:
    draft = new_post(1, is_draft=True)
    await publish(bus, "evt.post.created", draft)
    post = new_post(1)
    await publish(bus, "evt.post.created", post)
    # The same event again, past JetStream's dedupe (another message id): the inbox drops it.
    await publish(bus, "evt.post.created", post, msg_id=secrets.token_hex(8))
    await eventually(lambda: fired(db, post.post_id), what="post fired")
    await eventually(lambda: _all(queued_events(bus, post.post_id), 1), what="queued event")
    other = new_post(1)
    await publish(bus, "evt.post.created", other)
    await eventually(lambda: fired(db, other.post_id), what="a later post fired")
    assert len(await queued_events(bus, post.post_id)) == 1
    assert await rows(db, draft.post_id) == []
    async with db.connect() as conn:
        handled = await conn.scalar(sa.text("SELECT count(*) FROM inbox WHERE event_id = :e"), {"e": post.id})
    assert handled == 1, "the creation was not recorded in the inbox, so a replay would be handled again"


async def _all(probe, n: int):  # type: ignore[no-untyped-def]
    found = await probe
    return found if len(found) >= n else None


async def _canceled(db: AsyncEngine, target_id: str) -> bool:
    async with db.connect() as conn:
        return bool(await conn.scalar(sa.text("SELECT canceled FROM timetable WHERE target_id = :t"), {"t": target_id}))
