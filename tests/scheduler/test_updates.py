"""evt.post.updated on the timetable: a published draft is put on it, an edit moves its waiting
targets and rewrites their commands, adds new targets and cancels removed ones, and an update
older than the one a row holds changes nothing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget
from crier.contracts.common import Container
from crier.contracts.events import PostCreated, PostUpdated, TargetSpec
from crier.kit.bus import Bus
from crier.scheduler.adapters import timetable
from crier.scheduler.domain.timetable import entries_for
from tests.scheduler.test_firing import new_post
from tests.scheduler.test_redrive import messages_for
from tests.support.bus import eventually, publish

# A safety-net look at the timetable only once a minute: whatever fires sooner was woken.
SCHEDULER_ENV = {"CRIER_SCHEDULER_MAX_WAIT_S": "60"}


def updated(post: PostCreated, version: int, **kw: Any) -> PostUpdated:
    fields: dict[str, Any] = {
        "id": secrets.token_hex(8),
        "occurred_at": datetime.now(UTC),
        "org_id": post.org_id,
        "mode": post.mode,
        "post_id": post.post_id,
        "version": version,
        "status": "scheduled",
        "containers": post.containers,
        "targets": post.targets,
        "scheduled_at": post.scheduled_at,
        "config": post.config,
    }
    return PostUpdated(**{**fields, **kw})


async def rows(db: AsyncEngine, post_id: str) -> dict[str, Any]:
    async with db.connect() as conn:
        found = await conn.execute(
            sa.text(
                "SELECT target_id, due_at, canceled, fired_at, post_version, command::text AS command"
                " FROM timetable WHERE post_id = :p"
            ),
            {"p": post_id},
        )
        return {r.target_id: r for r in found}


async def test_a_published_draft_fires_at_once(bus: Bus, db: AsyncEngine) -> None:
    draft = new_post(1, is_draft=True)
    target = draft.targets[0].target_id
    await publish(bus, "evt.post.created", draft)
    await publish(bus, "evt.post.updated", updated(draft, 2, status="queued", draft_published=True))
    [sent] = await eventually(lambda: messages_for(bus, db, target, 1), what="the published draft's command")
    assert msgspec.json.decode(sent.data, type=PublishTarget).containers == draft.containers


async def test_an_edit_moves_rewrites_adds_and_cancels(bus: Bus, db: AsyncEngine) -> None:
    post = new_post(2, at=datetime.now(UTC) + timedelta(hours=1))
    kept, removed = post.targets
    await publish(bus, "evt.post.created", post)
    await eventually(lambda: _count(rows(db, post.post_id), 2), what="the created rows")
    added = TargetSpec(target_id=f"{post.post_id}_new", account_id="acc_new", platform="linkedin")
    later = datetime.now(UTC) + timedelta(hours=3)
    edit = updated(
        post,
        2,
        containers=[Container(content="edited")],
        targets=[msgspec.structs.replace(kept, override_body="for x"), added],
        removed_target_ids=[removed.target_id],
        scheduled_at=later,
        config={"linkedin": {"visibility": "PUBLIC"}},
    )
    await publish(bus, "evt.post.updated", edit)
    found = await eventually(lambda: _count(rows(db, post.post_id), 3), what="the added row")
    found = await eventually(lambda: _versioned(rows(db, post.post_id), kept.target_id, 2), what="the rewritten row")
    assert found[removed.target_id].canceled and found[removed.target_id].post_version == 1
    for target_id in (kept.target_id, added.target_id):
        row = found[target_id]
        assert (row.due_at, row.canceled, row.fired_at, row.post_version) == (later, False, None, 2)
    command = msgspec.json.decode(found[kept.target_id].command, type=PublishTarget)
    assert [c.content for c in command.containers] == ["for x"]
    new_command = msgspec.json.decode(found[added.target_id].command, type=PublishTarget)
    assert ([c.content for c in new_command.containers], new_command.config) == (["edited"], {"visibility": "PUBLIC"})

    # An older update arriving late (a redelivery) changes nothing.
    await publish(bus, "evt.post.updated", updated(post, 3, scheduled_at=later + timedelta(hours=1)))
    await eventually(lambda: _versioned(rows(db, post.post_id), kept.target_id, 3), what="version 3")
    await publish(bus, "evt.post.updated", edit, msg_id=secrets.token_hex(8))
    await publish(bus, "evt.post.updated", updated(post, 2, scheduled_at=datetime.now(UTC)))
    # Handled in order: a later post's row is there only once both were handled.
    marker = new_post(1, at=datetime.now(UTC) + timedelta(hours=1))
    await publish(bus, "evt.post.created", marker)
    await eventually(lambda: _count(rows(db, marker.post_id), 1), what="the marker")
    final = await rows(db, post.post_id)
    assert final[kept.target_id].due_at == later + timedelta(hours=1) and final[kept.target_id].post_version == 3


async def test_an_edit_moving_a_post_to_now_fires_it_and_a_fired_target_stays_fired(bus: Bus, db: AsyncEngine) -> None:
    post = new_post(1, at=datetime.now(UTC) + timedelta(hours=1))
    target = post.targets[0].target_id
    await publish(bus, "evt.post.created", post)
    await publish(bus, "evt.post.updated", updated(post, 2, scheduled_at=None, status="queued"))
    await eventually(lambda: messages_for(bus, db, target, 1), what="the command, at once")
    # Gone out: a later edit the gateway accepted before it heard cannot call it back.
    await publish(bus, "evt.post.updated", updated(post, 3, scheduled_at=datetime.now(UTC) + timedelta(hours=2)))
    marker = new_post(1, at=datetime.now(UTC) + timedelta(hours=1))
    await publish(bus, "evt.post.created", marker)
    await eventually(lambda: _count(rows(db, marker.post_id), 1), what="the marker")
    row = (await rows(db, post.post_id))[target]
    assert row.fired_at is not None and row.post_version == 2
    assert len(await messages_for(bus, db, target, 1) or []) == 1


async def _count(probe: Any, n: int) -> Any:
    found = await probe
    return found if len(found) >= n else None


async def _versioned(probe: Any, target_id: str, version: int) -> Any:
    found = await probe
    return found if target_id in found and found[target_id].post_version == version else None


async def test_a_creation_handled_before_writes_nothing(db: AsyncEngine) -> None:
    """A creation's entries go with the claim of its event: the same event again (a redelivery)
    finds it claimed and writes none of its entries, whatever they are."""
    soon = datetime.now(UTC) + timedelta(days=3)
    first, other = new_post(1, at=soon), new_post(1, at=soon)
    async with db.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        assert await timetable.add_claiming(conn, "scheduler-test", first.id, entries_for(first), {})
        assert not await timetable.add_claiming(conn, "scheduler-test", first.id, entries_for(other), {})
    assert len(await rows(db, first.post_id)) == 1
    assert await rows(db, other.post_id) == {}, "nothing written for an event handled before"
