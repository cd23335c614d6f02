"""Statements run on the driver directly (`direct_sql`) against a real PostgreSQL: they join the
transaction SQLAlchemy holds (its BEGIN sent lazily, its commit and rollback ending it), run in
autocommit on a read connection, fail with SQLAlchemy's errors, invalidate a lost connection, and
are traced like SQLAlchemy's statements."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit import db
from crier.kit.db_spans import trace_statements
from crier.kit.direct_sql import DirectStatement, fetch, fetchrow
from crier.kit.transient import is_transient
from tests.support.stack import Infra

_INSERT = DirectStatement("INSERT INTO items (id, note) VALUES (:id, :note) RETURNING id, note")
_TXID = DirectStatement("SELECT txid_current() AS txid")


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    url = await asyncio.to_thread(infra.create_database)
    engine = db.create_engine(url, "public", pool_size=2, max_overflow=0)
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE items (id int PRIMARY KEY, note text)"))
    yield engine
    await engine.dispose()


async def _ids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.text("SELECT id FROM items ORDER BY id"))).scalars())


async def test_a_statement_joins_the_transaction_sqlalchemy_holds(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        row = await fetchrow(conn, _INSERT, {"id": 1, "note": "kept"})
        assert row is not None and (row["id"], row[1]) == (1, "kept")
        # the same transaction as the statements SQLAlchemy runs after it
        txid = (await fetchrow(conn, _TXID))["txid"]  # type: ignore[index]
        assert (await conn.execute(sa.text("SELECT txid_current()"))).scalar_one() == txid
    assert await _ids(engine) == [1]

    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO items VALUES (2, 'by sqlalchemy')"))
            await fetch(conn, _INSERT, {"id": 3, "note": "direct"})
            raise RuntimeError("the use case fails")
    assert await _ids(engine) == [1], "both rolled back with the transaction"


async def test_a_read_connection_runs_each_statement_in_autocommit(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        first = (await fetchrow(conn, _TXID))["txid"]  # type: ignore[index]
        second = (await fetchrow(conn, _TXID))["txid"]  # type: ignore[index]
        await fetch(conn, _INSERT, {"id": 4, "note": "autocommitted"})
    assert first != second
    assert await _ids(engine) == [4]


async def test_errors_are_sqlalchemys_with_the_drivers_error_underneath(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await fetch(conn, _INSERT, {"id": 5, "note": "first"})
    with pytest.raises(sa.exc.IntegrityError) as taken:
        async with engine.begin() as conn:
            await fetch(conn, _INSERT, {"id": 5, "note": "again"})
    assert getattr(taken.value.orig.__cause__, "constraint_name", None) == "items_pkey"
    assert not is_transient(taken.value)
    with pytest.raises(sa.exc.ProgrammingError):
        async with engine.begin() as conn:
            await fetch(conn, DirectStatement("SELECT * FROM no_such_table"))


async def test_a_lost_connection_is_invalidated_and_replaced(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        pid = (await fetchrow(conn, DirectStatement("SELECT pg_backend_pid() AS pid")))["pid"]  # type: ignore[index]
        await conn.commit()
        async with engine.connect() as other:
            await other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(sa.exc.DBAPIError) as lost:
            await fetch(conn, _TXID)
        assert lost.value.connection_invalidated
        assert is_transient(lost.value)
    async with engine.begin() as conn:  # the pool hands out a working connection
        assert await fetchrow(conn, _INSERT, {"id": 6, "note": "after"}) is not None


def test_parameters_in_order_with_repeats_and_core_literals() -> None:
    repeated = DirectStatement("SELECT :a + :b + :a AS n")
    assert repeated.sql == "SELECT $1 + $2 + $1 AS n"
    assert repeated.args({"b": 2, "a": 1}) == [1, 2]
    items = sa.table("items", sa.column("id", sa.Integer), sa.column("note", sa.Text))
    core = DirectStatement(sa.select(items.c.id).where(items.c.note == "fixed", items.c.id == sa.bindparam("id")))
    assert core.args({"id": 7}) == ["fixed", 7]
    with pytest.raises(TypeError, match="'id' not given"):
        core.args({})


def test_parameters_sqlalchemy_would_convert_are_refused() -> None:
    docs = sa.table("docs", sa.column("body", JSONB))
    with pytest.raises(TypeError, match="need SQLAlchemy's conversion"):
        DirectStatement(sa.insert(docs).values(body=sa.bindparam("body", type_=JSONB)))


async def test_each_statement_is_a_client_span(engine: AsyncEngine, exporter: InMemorySpanExporter) -> None:
    trace_statements(engine, "public")
    with trace.get_tracer("test").start_as_current_span("request") as request:
        async with engine.begin() as conn:
            await fetch(conn, _INSERT, {"id": 8, "note": "sk_live_hidden"})
        with pytest.raises(sa.exc.ProgrammingError):
            async with engine.begin() as conn:
                await fetch(conn, DirectStatement("SELECT * FROM no_such_table"))
    spans = [s for s in exporter.get_finished_spans() if s.attributes and s.attributes.get("db.system.name")]
    assert [(s.name, s.kind) for s in spans] == [("INSERT public", SpanKind.CLIENT), ("SELECT public", SpanKind.CLIENT)]
    ok, failed = spans
    assert ok.parent is not None and ok.parent.span_id == request.get_span_context().span_id
    assert "sk_live_hidden" not in str(ok.attributes)
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["db.response.status_code"] == "42P01"
