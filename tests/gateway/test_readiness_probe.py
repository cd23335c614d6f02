"""/readyz's database probe asks for a new connection: a server in a smart shutdown, which refuses
new connections while it waits for its clients to leave, is not ready even though a connection
of the pool still answers."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from crier.gateway.adapters import database
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.health import database_ready
from crier.kit.db import create_engine
from crier.kit.embedded import EmbeddedPostgres
from crier.kit.uow import UnitOfWork


async def _refuses_new_connections(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError):
        return True
    await conn.close()
    return False


async def _poll(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_database_in_smart_shutdown_is_not_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg").start(fsync=False)
    engine = create_engine(pg.url("postgres"), "public", pool_size=2)
    opened = []
    accepts = database.accepts_new_connections

    async def counted(*args: Any) -> bool:
        opened.append(1)
        return await accepts(*args)

    monkeypatch.setattr(database, "accepts_new_connections", counted)
    try:
        ctx = Context(uow=UnitOfWork(engine, consumer="gateway"))
        # A storm of probes opens one connection: they share its answer.
        assert all(await asyncio.gather(*(database_ready(ctx, 2) for _ in range(100))))
        assert len(opened) == 1
        # Two connections in the pool: one stays idle, as a pooled probe would find it.
        async with engine.connect() as idle, engine.connect() as held:
            await idle.execute(sa.text("SELECT 1"))
            await held.execute(sa.text("SELECT 1"))
        async with engine.connect() as held:
            assert pg.proc is not None
            pg.proc.send_signal(signal.SIGTERM)  # smart shutdown: waits for `held` to leave
            await _poll(lambda: _refuses_new_connections(pg.url()), 30, "the server to refuse new connections")

            async def not_ready() -> bool:
                return not await database_ready(ctx, 2)

            await _poll(not_ready, 10, "the probe to say not ready")
            assert await held.scalar(sa.text("SELECT 1")) == 1, "the held connection should still answer"
            assert pg.proc.poll() is None
    finally:
        await engine.dispose()
        pg.stop()
