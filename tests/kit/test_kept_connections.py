"""The units of work's kept connections, against a real PostgreSQL: handed from block to block,
bounded, transactional again after every autocommit block, and never handed out again once
broken, cancelled midway or closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crier.kit.db import create_engine
from crier.kit.direct_sql import DirectStatement, fetchrow
from crier.kit.kept_connections import KeptConnections
from crier.kit.uow import UnitOfWork
from tests.support.bus import eventually
from tests.support.stack import Infra

BACKEND = DirectStatement("SELECT pg_backend_pid() AS pid")


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    url = await asyncio.to_thread(infra.create_database)
    engine = create_engine(url, "public", pool_size=4, max_overflow=0)
    yield engine
    await engine.dispose()


async def _backend(uow: UnitOfWork) -> int:
    async with uow.read() as conn:
        row = await fetchrow(conn, BACKEND)
        assert row is not None
        return int(row["pid"])


async def _scalar(conn: AsyncConnection, query: str) -> Any:
    return (await conn.execute(sa.text(query))).scalar()


def _checked_out(engine: AsyncEngine) -> int:
    return int(engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


async def test_blocks_one_after_another_share_one_connection_kept_out_of_the_engine_pool(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=2)
    first = await _backend(uow)
    assert await _backend(uow) == first
    async with uow.autocommit() as tx:
        row = await fetchrow(tx.conn, BACKEND)
        assert row is not None and row["pid"] == first
    # Kept by the autocommit blocks, so checked out of the engine's pool between blocks.
    assert _checked_out(engine) == 1
    await uow.close()
    assert _checked_out(engine) == 0


async def test_statements_commit_by_themselves_on_a_kept_connection(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    async with uow.autocommit() as tx:
        await tx.conn.execute(sa.text("CREATE TABLE kept_notes (id int PRIMARY KEY)"))
        await tx.conn.execute(sa.text("INSERT INTO kept_notes VALUES (1)"))
    # Core statements start SQLAlchemy's own bookkeeping transaction: ended before the next block.
    async with uow.read() as conn:
        assert not conn.in_transaction()
        assert await _scalar(conn, "SELECT count(*) FROM kept_notes") == 1
    async with engine.connect() as other:
        assert await _scalar(other, "SELECT count(*) FROM kept_notes") == 1
    await uow.close()


async def test_transactions_on_kept_connections_commit_or_roll_back_whole(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    async with uow.autocommit() as tx:
        await tx.conn.execute(sa.text("CREATE TABLE kept_rows (id int PRIMARY KEY)"))
    # The same connection, switched to autocommit for that block only.
    with pytest.raises(RuntimeError):
        async with uow.begin() as tx:
            await tx.conn.execute(sa.text("INSERT INTO kept_rows VALUES (1)"))
            raise RuntimeError("the use case failed")
    async with uow.begin() as tx:
        await tx.conn.execute(sa.text("INSERT INTO kept_rows VALUES (2)"))
        async with engine.connect() as other:  # not committed yet: the block is one transaction
            assert await _scalar(other, "SELECT count(*) FROM kept_rows") == 0
    async with uow.read() as conn:
        assert await _scalar(conn, "SELECT array_agg(id) FROM kept_rows") == [2]
    await uow.close()


async def test_a_transaction_of_direct_statements_alone_commits_on_the_driver(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    insert = DirectStatement("INSERT INTO direct_rows VALUES (:id) RETURNING id")
    async with uow.autocommit() as tx:
        await tx.conn.execute(sa.text("CREATE TABLE direct_rows (id int PRIMARY KEY)"))
    with pytest.raises(RuntimeError):
        async with uow.begin() as tx:
            await fetchrow(tx.conn, insert, {"id": 1})
            raise RuntimeError("the use case failed")
    async with uow.begin() as tx:
        await fetchrow(tx.conn, insert, {"id": 2})
        await fetchrow(tx.conn, insert, {"id": 3})
        assert not tx.conn.in_transaction()  # SQLAlchemy sees none: the driver's, committed below
        async with engine.connect() as other:
            assert await _scalar(other, "SELECT count(*) FROM direct_rows") == 0
    async with uow.read() as conn:
        assert await _scalar(conn, "SELECT array_agg(id ORDER BY id) FROM direct_rows") == [2, 3]
    # A failed commit comes out as SQLAlchemy's error, and nothing of the transaction stays.
    async with uow.autocommit() as tx:
        await tx.conn.execute(
            sa.text(
                "ALTER TABLE direct_rows ADD CONSTRAINT later UNIQUE (id) DEFERRABLE INITIALLY DEFERRED,"
                " DROP CONSTRAINT direct_rows_pkey"
            )
        )
    with pytest.raises(sa.exc.IntegrityError):
        async with uow.begin() as tx:
            await fetchrow(tx.conn, insert, {"id": 4})
            await fetchrow(tx.conn, insert, {"id": 4})  # refused only at the commit
    async with uow.read() as conn:
        assert await _scalar(conn, "SELECT count(*) FROM direct_rows WHERE id = 4") == 0
    await uow.close()


async def test_a_connection_goes_back_to_the_engine_transactional(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    async with uow.autocommit() as tx:
        await tx.conn.execute(sa.text("CREATE TABLE handed_back (id int PRIMARY KEY)"))
    with pytest.raises(RuntimeError):
        async with uow.autocommit():
            raise RuntimeError("the use case failed")  # its connection goes back to the engine
    await uow.close()
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:  # the engine's one idle connection: that one
            await conn.execute(sa.text("INSERT INTO handed_back VALUES (1)"))
            raise RuntimeError("rolled back, were it a transaction")
    async with engine.connect() as conn:
        assert await _scalar(conn, "SELECT count(*) FROM handed_back") == 0


async def test_a_block_waits_for_a_connection_no_longer_than_its_bound(engine: AsyncEngine) -> None:
    kept = KeptConnections(engine, 1, wait_s=0.2)
    async with kept.connection():
        with pytest.raises(TimeoutError, match="no database connection free"):
            await kept.take()
    async with kept.connection() as conn:  # the one that timed out left nothing behind
        assert await _scalar(conn, "SELECT 1") == 1
    assert kept.open == 1
    await kept.close()


async def test_no_more_than_its_share_is_open_and_every_block_gets_one(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=2)
    inside, most = 0, 0
    release = asyncio.Event()

    async def block(n: int) -> int:
        nonlocal inside, most
        async with uow.autocommit() as tx:
            inside += 1
            most = max(most, inside)
            if n < 2:
                await release.wait()
            row = await fetchrow(tx.conn, BACKEND)
            inside -= 1
            assert row is not None
            return int(row["pid"])

    blocks = [asyncio.create_task(block(n)) for n in range(6)]
    await eventually(_now(lambda: inside == 2), timeout=10)
    assert _checked_out(engine) == 2
    release.set()
    pids = await asyncio.wait_for(asyncio.gather(*blocks), timeout=10)
    assert most == 2
    assert len(set(pids)) == 2
    await uow.close()


async def test_a_block_that_raised_hands_its_connection_back_to_the_engine(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    kept = uow._kept
    assert kept is not None
    await _backend(uow)
    with pytest.raises(RuntimeError):
        async with uow.read():
            raise RuntimeError("the use case failed")
    # Back to the engine's pool (its reset and check-out check apply), not to the next block.
    assert kept.open == 0 and _checked_out(engine) == 0
    await _backend(uow)
    assert kept.open == 1
    await uow.close()


async def test_a_connection_the_server_closed_is_replaced(engine: AsyncEngine, infra: Infra) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    killed = await _backend(uow)
    async with engine.connect() as admin:
        await admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
    # The kept connection learns of it when its socket closes; then it is not handed out again.
    kept = uow._kept
    assert kept is not None
    idle = kept._idle[0][0].sync_connection
    assert idle is not None
    await eventually(_now(idle.connection.driver_connection.is_closed), timeout=10)
    assert await _backend(uow) != killed
    assert kept.open == 1
    await uow.close()


async def test_a_statement_on_a_lost_connection_raises_and_the_next_block_gets_a_new_one(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    async with uow.read() as conn:
        killed = int((await fetchrow(conn, BACKEND))["pid"])  # type: ignore[index]
        async with engine.connect() as admin:
            await admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
        with pytest.raises((sa.exc.DBAPIError, asyncpg.PostgresError, ConnectionError)):
            await fetchrow(conn, BACKEND)
            await fetchrow(conn, BACKEND)
    assert await _backend(uow) != killed
    await uow.close()


async def test_a_waiting_block_cancelled_loses_no_connection(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with uow.read():
            holding.set()
            await release.wait()

    held = asyncio.create_task(holder())
    await holding.wait()
    waiter = asyncio.create_task(_backend(uow))
    await asyncio.sleep(0)  # one turn of the loop: the waiter is queued (not a wait for time)
    waiter.cancel()
    release.set()
    await held
    with pytest.raises(asyncio.CancelledError):
        await waiter
    kept = uow._kept
    assert kept is not None and kept.open == 1
    await asyncio.wait_for(_backend(uow), timeout=10)
    await uow.close()


async def test_a_cancelled_block_closes_its_connection(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=1)
    inside = asyncio.Event()

    async def slow() -> None:
        async with uow.read() as conn:
            inside.set()
            await conn.execute(sa.text("SELECT pg_sleep(30)"))

    task = asyncio.create_task(slow())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    kept = uow._kept
    assert kept is not None
    await eventually(_now(lambda: kept.open == 0), timeout=10)
    assert await asyncio.wait_for(_backend(uow), timeout=10) > 0
    await uow.close()


async def test_once_closed_it_keeps_nothing(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="probe", kept_connections=2)
    release = asyncio.Event()

    async def late() -> None:
        async with uow.read():
            await release.wait()

    task = asyncio.create_task(late())
    await _backend(uow)
    await eventually(_now(lambda: _checked_out(engine) == 2), timeout=10)
    await uow.close()
    assert _checked_out(engine) == 1  # the idle one closed; the one in a block comes back later
    release.set()
    await task
    assert _checked_out(engine) == 0
    with pytest.raises(RuntimeError, match="closed"):
        await _backend(uow)


def _now(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return condition()

    return probe
