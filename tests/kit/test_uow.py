"""The unit of work against a real PostgreSQL: effect, inbox entry and outbox messages commit
together or not at all, and the relay is woken only for what was committed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import pytest
import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.events import PostCanceled
from crier.kit.bus import outbox
from crier.kit.bus.outbox import OutboxMessage
from crier.kit.db import create_engine
from crier.kit.migrations import create_outbox_and_inbox
from crier.kit.uow import UnitOfWork
from tests.support.stack import Infra

SCHEMA = "uowtest"


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    url = await asyncio.to_thread(infra.create_database)
    engine = create_engine(url, SCHEMA)

    def migrate(sync_conn: sa.Connection) -> None:
        with Operations.context(MigrationContext.configure(sync_conn)):
            create_outbox_and_inbox()

    async with engine.begin() as conn:
        await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.execute(sa.text(f"SET search_path TO {SCHEMA}"))
        await conn.run_sync(migrate)
        await conn.execute(sa.text("CREATE TABLE notes (id text PRIMARY KEY)"))
    yield engine
    await engine.dispose()


def _event() -> PostCanceled:
    return PostCanceled(
        id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), org_id="o", mode="live", post_id="p", target_ids=[]
    )


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(sa.text(query))]


async def test_the_effect_and_its_messages_commit_together_then_the_relay_wakes(engine: AsyncEngine) -> None:
    wakes = Wakes()
    uow = UnitOfWork(engine, consumer="probe", wake=wakes)
    first, second = _event(), _event()
    async with uow.begin() as tx:
        await tx.conn.execute(sa.text("INSERT INTO notes VALUES ('a')"))
        tx.emit("evt.post.canceled", first)
        tx.emit("cmd.publish.x", second, msg_id="target-1", trace={"traceparent": "00-abc-def-01"})
        assert wakes.count == 0
    assert wakes.count == 1
    outbox = await _rows(engine, "SELECT msg_id, subject, payload, headers FROM outbox ORDER BY seq")
    assert [(m, s) for m, s, _, _ in outbox] == [(first.id, "evt.post.canceled"), ("target-1", "cmd.publish.x")]
    assert msgspec.json.decode(bytes(outbox[0][2]), type=PostCanceled) == first
    assert "00-abc-def-01" in str(outbox[1][3])
    assert await _rows(engine, "SELECT id FROM notes") == [("a",)]


async def test_a_failure_commits_nothing_and_wakes_nobody(engine: AsyncEngine) -> None:
    wakes = Wakes()
    uow = UnitOfWork(engine, consumer="probe", wake=wakes)
    with pytest.raises(RuntimeError):
        async with uow.begin() as tx:
            await tx.conn.execute(sa.text("INSERT INTO notes VALUES ('b')"))
            tx.emit("evt.post.canceled", _event())
            raise RuntimeError("the use case changed its mind")
    assert wakes.count == 0
    assert await _rows(engine, "SELECT * FROM outbox") == []
    assert await _rows(engine, "SELECT * FROM notes") == []


async def test_nothing_emitted_wakes_nobody(engine: AsyncEngine) -> None:
    wakes = Wakes()
    async with UnitOfWork(engine, consumer="probe", wake=wakes).begin() as tx:
        await tx.conn.execute(sa.text("INSERT INTO notes VALUES ('c')"))
    assert wakes.count == 0


async def test_a_message_is_handled_once_and_a_failed_attempt_leaves_no_inbox_entry(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe")
    with pytest.raises(RuntimeError):
        async with uow.begin(handling="evt-1") as tx:
            assert not tx.seen_before
            raise RuntimeError("database hiccup mid-handling")
    async with uow.begin(handling="evt-1") as tx:
        assert not tx.seen_before  # the failed attempt's claim rolled back with it
        await tx.conn.execute(sa.text("INSERT INTO notes VALUES ('d')"))
    async with uow.begin(handling="evt-1") as tx:
        assert tx.seen_before
    async with uow.begin(handling="evt-1", consumer="another") as tx:
        assert not tx.seen_before  # each consumer keeps its own record
    assert await _rows(engine, "SELECT consumer, event_id FROM inbox ORDER BY consumer") == [
        ("another", "evt-1"),
        ("probe", "evt-1"),
    ]


async def test_a_batch_claims_only_what_is_new(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe")
    async with uow.begin() as tx:
        assert await tx.claim(["a", "b"], "batch") == {"a", "b"}
    async with uow.begin() as tx:
        assert await tx.claim(["b", "c", "c"], "batch") == {"c"}


async def test_messages_a_statement_queued_itself_keep_their_order_and_wake_the_relay(engine: AsyncEngine) -> None:
    """A use case's own statement that writes its change and its messages (`outbox.INSERT_ARRAYS`):
    they land in order, before what it emits afterwards, and the relay is woken after the commit."""
    wakes = Wakes()
    uow = UnitOfWork(engine, consumer="probe", wake=wakes)
    queued = [OutboxMessage(subject="evt.post.canceled", message=_event()) for _ in range(5)]
    later = _event()
    async with uow.begin() as tx:
        await tx.conn.execute(
            sa.text(f"WITH queued AS ({outbox.INSERT_ARRAYS}) INSERT INTO notes VALUES ('d')"),
            outbox.array_params(queued),
        )
        tx.wrote(queued)
        tx.emit("evt.post.canceled", later)
        assert wakes.count == 0
    assert wakes.count == 1
    rows = await _rows(engine, "SELECT msg_id, payload FROM outbox ORDER BY seq")
    assert [m for m, _ in rows] == [q.message.id for q in queued] + [later.id]
    assert msgspec.json.decode(bytes(rows[0][1]), type=PostCanceled) == queued[0].message


async def test_messages_a_statement_queued_alone_wake_the_relay(engine: AsyncEngine) -> None:
    wakes = Wakes()
    uow = UnitOfWork(engine, consumer="probe", wake=wakes)
    queued = [OutboxMessage(subject="evt.post.canceled", message=_event())]
    async with uow.begin() as tx:
        await tx.conn.execute(sa.text(f"WITH queued AS ({outbox.INSERT_ARRAYS}) SELECT 1"), outbox.array_params(queued))
        tx.wrote(queued)
    assert wakes.count == 1
    assert len(await _rows(engine, "SELECT * FROM outbox")) == 1


async def test_the_expression_language_cte_queues_messages_in_order(engine: AsyncEngine) -> None:
    """`outbox.insert_arrays_cte`: the same queueing for statements built with SQLAlchemy Core."""
    wakes = Wakes()
    uow = UnitOfWork(engine, consumer="probe", wake=wakes)
    queued = [OutboxMessage(subject="evt.post.canceled", message=_event()) for _ in range(4)]
    statement = sa.select(sa.literal(1)).add_cte(outbox.insert_arrays_cte("queued"))
    async with uow.begin() as tx:
        await tx.conn.execute(statement, outbox.array_params(queued))
        tx.wrote(queued)
    assert wakes.count == 1
    rows = await _rows(engine, "SELECT msg_id, subject FROM outbox ORDER BY seq")
    assert rows == [(q.message.id, "evt.post.canceled") for q in queued]


async def test_statements_in_autocommit_commit_as_they_run_and_wake_the_relay_after(engine: AsyncEngine) -> None:
    wakes = Wakes()
    uow = UnitOfWork(engine, consumer="probe", wake=wakes)
    queued = [OutboxMessage(subject="evt.post.canceled", message=_event())]
    async with uow.autocommit() as tx:
        await tx.conn.execute(sa.text(f"WITH queued AS ({outbox.INSERT_ARRAYS}) SELECT 1"), outbox.array_params(queued))
        tx.wrote(queued)
        assert len(await _rows(engine, "SELECT * FROM outbox")) == 1, "committed already, seen from elsewhere"
        assert wakes.count == 0
    assert wakes.count == 1
    with pytest.raises(RuntimeError, match="need a transaction"):
        async with uow.autocommit() as tx:
            tx.emit("evt.post.canceled", _event())
    assert wakes.count == 1
