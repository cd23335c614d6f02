"""Connections for the units of work whose statements each commit by themselves, kept between uses.

Taking a connection from SQLAlchemy's pool, switching it to AUTOCOMMIT and handing it back costs
about 120 µs of CPU (greenlet hand-offs, the pool's events, the isolation level set and reset),
where the statement run on it costs 60–80 µs (measured on one connection here), and a post create
or a live delivery runs one to three such blocks. So those blocks share connections of their own:
opened through the engine (its check-out check and connection settings apply), switched to
AUTOCOMMIT once, and kept. A block takes an idle one, or opens one while fewer than `size` are
open, or waits for one to come back. SQLAlchemy's pool has no hook to keep a connection's
isolation level between check-outs, hence this small pool around its connections.

A connection back from a block that raised, or one SQLAlchemy invalidated or its server closed,
is closed (to the engine, which replaces it) and never handed out again. One idle for longer than
`db.TRUSTED_IDLE_S` gets a round trip first, as the engine's own check-out gives it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crier.kit.db import TRUSTED_IDLE_S


class AutocommitPool:
    def __init__(self, engine: AsyncEngine, size: int) -> None:
        if size < 1:
            raise ValueError("an autocommit pool needs room for one connection at least")
        self._engine = engine
        self._size = size
        # Idle connections, each with when it came back; the last back is the first out (warm).
        self._idle: deque[tuple[AsyncConnection, float]] = deque()
        self._open = 0
        # Blocks waiting: each is handed a connection, or None when there is room to open one.
        self._waiters: deque[asyncio.Future[AsyncConnection | None]] = deque()
        self._closed = False

    @property
    def open(self) -> int:
        """Connections open: idle or in a block."""
        return self._open

    async def take(self) -> AsyncConnection:
        while True:
            if self._closed:
                raise RuntimeError("the autocommit pool is closed")
            while self._idle:
                conn, since = self._idle.pop()
                if await self._usable(conn, since):
                    return conn
            if self._open < self._size:
                return await self._opened()
            waiter: asyncio.Future[AsyncConnection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # Handed over as this block was cancelled: it goes to the next in line.
                    self._pass_on(waiter.result())
                else:
                    self._waiters.remove(waiter)
                raise
            if handed is not None:
                return handed

    async def give_back(self, conn: AsyncConnection, *, clean: bool) -> None:
        """`clean`: the block ended without an error. Only then is the connection kept."""
        if clean and not self._closed and _alive(conn):
            if conn.in_transaction():
                # A Core statement began SQLAlchemy's own bookkeeping transaction (nothing on the
                # server: AUTOCOMMIT); ended here so the next block starts clean.
                try:
                    await conn.rollback()
                except Exception:
                    await self._discard(conn)
                    return
            self._pass_on(conn)
            return
        await self._discard(conn)

    async def close(self) -> None:
        """Closes the idle connections now, and every other one as it comes back."""
        self._closed = True
        while self._idle:
            await self._discard(self._idle.pop()[0])
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the autocommit pool is closed"))

    def _pass_on(self, conn: AsyncConnection | None) -> None:
        """To the first block still waiting, else idle (None: room for a block to open one)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append((conn, time.monotonic()))

    async def _opened(self) -> AsyncConnection:
        self._open += 1
        try:
            conn = await self._engine.connect()
        except BaseException:
            self._open -= 1
            self._pass_on(None)
            raise
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        except BaseException:
            await self._discard(conn)
            raise
        return conn

    async def _usable(self, conn: AsyncConnection, since: float) -> bool:
        if not _alive(conn):
            await self._discard(conn)
            return False
        if time.monotonic() - since < TRUSTED_IDLE_S:
            return True
        try:
            await _driver(conn).fetchrow(";")
        except Exception:
            await self._discard(conn)
            return False
        return True

    async def _discard(self, conn: AsyncConnection) -> None:
        self._open -= 1
        try:
            await conn.close()
        except Exception:
            pass  # a connection already broken: the engine's pool has let go of it
        finally:
            self._pass_on(None)


def _driver(conn: AsyncConnection) -> Any:
    sync = conn.sync_connection
    assert sync is not None
    return sync.connection.driver_connection


def _alive(conn: AsyncConnection) -> bool:
    sync = conn.sync_connection
    return sync is not None and not sync.closed and not sync.invalidated and not _driver(conn).is_closed()
