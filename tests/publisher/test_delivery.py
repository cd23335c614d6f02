"""The publisher against real Postgres and JetStream, driven by commands and post events on the bus."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget
from crier.contracts.common import PLATFORMS, Container
from crier.contracts.events import PostCanceled, PostCreated, TargetSpec
from crier.kit.bus import Bus, streams
from crier.platforms import publishing
from crier.platforms.sandbox import post_id_for
from tests.publisher.factories import (
    attempts,
    command,
    outcome,
    sandbox_posts,
    send,
    subjects,
    target_row,
)
from tests.support.bus import StreamMessage, eventually, outbox_empty, publish, read_stream, target_events


async def test_immediate_post_to_three_sandbox_accounts_is_published(bus: Bus, db: AsyncEngine) -> None:
    post_id = f"post_{secrets.token_hex(6)}"
    targets = [
        TargetSpec(target_id=f"{post_id}_{p}", account_id=f"acc_{p}", platform=p, account_username=f"{p}_user")
        for p in ("x", "linkedin", "bluesky")
    ]
    await publish(
        bus,
        "evt.post.created",
        PostCreated(
            id=secrets.token_hex(8),
            occurred_at=datetime.now(UTC),
            org_id="org_1",
            mode="test",
            post_id=post_id,
            containers=[Container(content="Launch day"), Container(content="Link in the first comment")],
            targets=targets,
        ),
    )
    for t in targets:
        events = await eventually(lambda t=t: outcome(bus, t.target_id), what=f"{t.platform} outcome")
        assert subjects(events) == ["queued", "publishing", "published"]
        published = events[-1][1]
        root, reply = post_id_for(t.target_id, 0), post_id_for(t.target_id, 1)
        assert published.attempt == 1 and published.platform == t.platform
        assert published.platform_post_id == root and published.container_ids == [root, reply]
        assert published.platform_post_url == f"https://sandbox.crier.local/{t.platform}/{t.platform}_user/{root}"
        posts = await sandbox_posts(db, t.target_id)
        assert [(p.container_index, p.parent_id, p.content) for p in posts] == [
            (0, None, "Launch day"),
            (1, root, "Link in the first comment"),
        ]
        assert (await target_row(db, t.target_id)).status == "published"


async def test_always_failing_target_dead_letters_after_five_attempts(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("oops [sandbox:fail]")
    await send(bus, cmd)
    events = await eventually(lambda: outcome(bus, cmd.target_id), what="dead letter")
    assert subjects(events) == ["publishing", "attempt_failed"] * 4 + ["publishing", "dead_lettered"]
    assert [e.attempt for s, e in events if s == "evt.target.attempt_failed"] == [1, 2, 3, 4]
    assert all(0 <= e.retry_in_seconds <= 0.4 for s, e in events if s == "evt.target.attempt_failed")
    dead = events[-1][1]
    assert dead.attempt == 5 and dead.error_code == "platform_unavailable"

    async def dead_copies() -> list[StreamMessage]:
        # The DEAD stream stores its copy independently of EVENTS: it may land a moment later.
        held = await read_stream(bus, streams.DEAD)
        return [m for m in held if m.headers.get("Nats-Msg-Id") == f"{cmd.target_id}:dead"]

    copies = await eventually(dead_copies, what="the command's copy on the DEAD stream")
    assert len(copies) == 1 and copies[0].subject == "dead.publish.x"
    assert msgspec.json.decode(copies[0].data, type=PublishTarget) == cmd
    assert [(a.number, a.outcome) for a in await attempts(db, cmd.target_id)] == (
        [(n, "retrying") for n in (1, 2, 3, 4)] + [(5, "dead")]
    )
    row = await target_row(db, cmd.target_id)
    assert row.status == "dead" and row.failed_attempts == 5
    assert await sandbox_posts(db, cmd.target_id) == []


async def test_target_failing_twice_is_published_on_the_third_attempt(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("[sandbox:fail-times=2] third time lucky")
    await send(bus, cmd)
    events = await eventually(lambda: outcome(bus, cmd.target_id), what="publication")
    assert subjects(events) == [
        "publishing",
        "attempt_failed",
        "publishing",
        "attempt_failed",
        "publishing",
        "published",
    ]
    assert events[-1][1].attempt == 3
    assert len(await sandbox_posts(db, cmd.target_id)) == 1


async def test_rejected_content_fails_after_one_attempt(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("[sandbox:reject] not allowed")
    await send(bus, cmd)
    events = await eventually(lambda: outcome(bus, cmd.target_id), what="failure")
    assert subjects(events) == ["publishing", "failed"]
    failed = events[-1][1]
    assert failed.attempt == 1 and failed.error_code == "content_rejected"
    assert (await target_row(db, cmd.target_id)).status == "failed"


async def test_rate_limit_is_retried_no_sooner_than_the_platform_asks(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("[sandbox:rate-limit] busy")
    await send(bus, cmd)
    events = await eventually(lambda: outcome(bus, cmd.target_id), what="publication")
    assert subjects(events) == ["publishing", "attempt_failed", "publishing", "published"]
    assert events[1][1].error_code == "rate_limited" and events[1][1].retry_in_seconds == 0.1
    # Waited out, not one of the five failed attempts.
    assert (await target_row(db, cmd.target_id)).failed_attempts == 0


async def test_live_command_for_a_platform_without_adapter_fails_honestly(bus: Bus, db: AsyncEngine) -> None:
    # Media-only platforms publish from the next issue on; until then they have no adapter.
    unsupported = [p for p in PLATFORMS if not publishing.publishes(p)]
    if not unsupported:
        pytest.skip("every platform has a publishing adapter")
    cmd = command("real post", mode="live", platform=unsupported[0])
    await send(bus, cmd)
    events = await eventually(lambda: outcome(bus, cmd.target_id), what="failure")
    assert subjects(events) == ["publishing", "failed"]
    assert events[-1][1].error_code == "platform_not_supported"
    assert await sandbox_posts(db, cmd.target_id) == []


async def test_invalid_content_fails_before_reaching_the_platform(bus: Bus, db: AsyncEngine) -> None:
    empty = command("fine", "   ")
    await send(bus, empty)
    events = await eventually(lambda: outcome(bus, empty.target_id), what="invalid")
    assert subjects(events) == ["publishing", "failed"]
    assert events[-1][1].error_code == "invalid_content" and events[-1][1].attempt == 1
    assert await sandbox_posts(db, empty.target_id) == []


async def test_canceled_target_is_skipped(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("never mind")
    await publish(
        bus,
        "evt.post.canceled",
        PostCanceled(
            id=secrets.token_hex(8),
            occurred_at=datetime.now(UTC),
            org_id="org_1",
            mode="test",
            post_id=cmd.post_id,
            target_ids=[cmd.target_id],
        ),
    )

    async def cancellation_known() -> bool:
        # The publisher's own record of the cancellation: only then is the race decided.
        from sqlalchemy import text

        async with db.connect() as conn:
            return bool(
                await conn.scalar(text("SELECT 1 FROM canceled_targets WHERE target_id = :t"), {"t": cmd.target_id})
            )

    await eventually(cancellation_known, what="cancellation recorded")
    await send(bus, cmd)
    row = await eventually(lambda: _status(db, cmd.target_id, "canceled"), what="target canceled")
    assert row.failed_attempts == 0
    assert await target_events(bus, cmd.target_id) == [] and await sandbox_posts(db, cmd.target_id) == []


async def test_a_replayed_command_after_publication_changes_nothing(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("once only", "and its reply")
    await send(bus, cmd)
    await eventually(lambda: outcome(bus, cmd.target_id), what="publication")
    # Past JetStream's dedupe window (another message id): the publisher's own record decides.
    await publish(bus, f"cmd.publish.{cmd.platform}", cmd, msg_id=secrets.token_hex(8))

    async def replay_acked() -> bool:
        # A work queue deletes a message once it is acked.
        held = await read_stream(bus, streams.PUBLISH, f"cmd.publish.{cmd.platform}")
        return not any(msgspec.json.decode(m.data, type=PublishTarget).target_id == cmd.target_id for m in held)

    await eventually(replay_acked, what="the replay acked")
    # Whatever handling the replay committed is on the stream once the outbox is empty.
    await eventually(lambda: outbox_empty(db), what="the outbox relayed")
    assert subjects(await target_events(bus, cmd.target_id)) == ["publishing", "published"]
    assert len(await sandbox_posts(db, cmd.target_id)) == 2


async def _status(db: AsyncEngine, target_id: str, status: str):  # type: ignore[no-untyped-def]
    row = await target_row(db, target_id)
    return row if row is not None and row.status == status else None
