"""The pool's check-out check against a real PostgreSQL: a connection just returned is handed out
without a round trip, one idle for a while is pinged, and a connection the server killed is replaced
instead of failing the caller's statement."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit import db
from tests.support.stack import Infra


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    url = await asyncio.to_thread(infra.create_database)
    engine = db.create_engine(url, "public", pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


class Queries:
    """The simple-protocol statements asyncpg sends on the pooled connection: BEGIN, ROLLBACK and the
    check-out's ping (prepared statements are not reported)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, record: Any) -> None:
        self.sent.append(record.query)


async def _pooled(engine: AsyncEngine) -> tuple[Any, dict[str, Any]]:
    """The one pooled connection's asyncpg connection and its pool record's info."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        return raw.driver_connection, raw.info


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_just_returned_is_not_pinged_and_an_idle_one_is(engine: AsyncEngine) -> None:
    driver, info = await _pooled(engine)
    queries = Queries()
    driver.add_query_logger(queries)

    await _backend_pid(engine)
    assert ";" not in queries.sent, "no ping for a connection back a moment ago"

    # the one pooled connection went back long ago, as far as the pool can tell
    info["checked_in_at"] = time.monotonic() - db.TRUSTED_IDLE_S - 1
    queries.sent.clear()
    await _backend_pid(engine)
    assert queries.sent[0] == ";", "the check-out pinged the idle connection first"
    assert queries.sent.count(";") == 1


async def test_a_connection_the_server_killed_is_replaced_at_check_out(engine: AsyncEngine) -> None:
    killed = await _backend_pid(engine)
    driver, _ = await _pooled(engine)
    admin = await asyncpg.connect(engine.url.render_as_string(hide_password=False).replace("+asyncpg", ""))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", killed)
    finally:
        await admin.close()
    deadline = time.monotonic() + 10
    while not driver.is_closed():
        assert time.monotonic() < deadline, "asyncpg never saw its connection closed"
        await asyncio.sleep(0.01)

    # back in the pool for less than the trusted idle time, yet not handed out: replaced
    assert await _backend_pid(engine) != killed


@pytest.mark.parametrize("cast", ["json", "jsonb"])
async def test_json_results_come_back_as_the_standard_library_reads_them(engine: AsyncEngine, cast: str) -> None:
    """The engine's JSON decoder (msgspec's) gives what the standard library's gives for the text
    the server sends: big integers stay integers, decimals floats, text its characters, nesting its
    shape (jsonb writes a large float's digits out in full: an integer to either decoder)."""
    stored = {
        "big": 10**30,
        "neg": -(2**70),
        "f": 0.1,
        "e": 1.5e300,
        "t": 'é ☃ \U0001f600 "q" \\ \n',
        "n": None,
        "b": [True, False],
        "o": {"a": [{"b": []}, {}]},
    }
    query = sa.text(f"SELECT CAST(:v AS {cast}) AS value, CAST(CAST(:v AS {cast}) AS text) AS text")
    async with engine.connect() as conn:
        row = (await conn.execute(query, {"v": json.dumps(stored)})).one()
    expected = json.loads(row.text)

    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        return (type(value).__name__, value)

    assert typed(row.value) == typed(expected)
    assert row.value["big"] == 10**30 and row.value["f"] == 0.1 and row.value["t"] == stored["t"]
