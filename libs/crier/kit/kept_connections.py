"""Connections the units of work keep between blocks, instead of a check-out from the engine each.

Taking a connection from SQLAlchemy's pool and handing it back costs about 120 µs of CPU around
each block (greenlet hand-offs, the pool's events, its reset on return), and switching it to
AUTOCOMMIT and back more again, where a statement costs 60–80 µs (measured on one connection here);
a post create or a live delivery runs one to three blocks. So the units of work share connections
of their own: opened through the engine (its check-out check and connection settings apply) and
kept. A block takes an idle one, or opens one while fewer than `size` are open, or waits for one
to come back (at most `wait_s`, then `TimeoutError`, an outage to its caller, as the engine's
pool times out). SQLAlchemy's pool has no way to skip its per-check-out work, hence this one.

A connection back from a block that raised, or one SQLAlchemy invalidated or its server closed, is
closed (to the engine, which replaces it) and never handed out again. One idle for longer than
`db.TRUSTED_IDLE_S` gets a round trip first, as the engine's own check-out gives it.

An autocommit block switches the kept connection's DBAPI connection to autocommit for its span
(`autocommit`), as SQLAlchemy's dialect itself does for AUTOCOMMIT, and always back: a connection
is kept, and handed back to the engine, in SQLAlchemy's default transactional mode.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crier.kit import direct_sql
from crier.kit.db import TRUSTED_IDLE_S

# As long as SQLAlchemy's pool waits for a connection by default.
WAIT_S = 30.0


class KeptConnections:
    def __init__(self, engine: AsyncEngine, size: int, *, wait_s: float = WAIT_S) -> None:
        if size < 1:
            raise ValueError("kept connections need room for one connection at least")
        self._engine = engine
        self._size = size
        self._wait_s = wait_s
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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A kept connection for the block; back to the others after it, or to the engine if it raised."""
        conn = await self.take()
        try:
            yield conn
        except BaseException:
            await self.give_back(conn, clean=False)
            raise
        await self.give_back(conn, clean=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A kept connection whose statements make one transaction, begun by the first of them (as
        SQLAlchemy's adapter begins one), committed when the block ends, rolled back if it raises
        (the connection goes back to the engine, whose reset rolls it back). Direct statements
        alone are committed on the driver (`direct_sql.commit`); Core statements began SQLAlchemy's
        transaction, which commits both."""
        async with self.connection() as conn:
            yield conn
            if conn.in_transaction():
                await conn.commit()
            else:
                await direct_sql.commit(conn)

    def autocommit(self) -> Autocommit:
        """A kept connection whose statements each commit by themselves, for the block."""
        return Autocommit(self)

    async def take(self) -> AsyncConnection:
        while True:
            if self._closed:
                raise RuntimeError("the kept connections are closed")
            while self._idle:
                conn, since = self._idle.pop()
                if await self._usable(conn, since):
                    return conn
            if self._open < self._size:
                return await self._opened()
            waiter: asyncio.Future[AsyncConnection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(self._wait_s):
                    handed = await waiter
            except asyncio.CancelledError:
                self._forget(waiter)
                raise
            except TimeoutError:
                self._forget(waiter)
                raise TimeoutError(f"no database connection free within {self._wait_s:.0f} s") from None
            if handed is not None:
                return handed

    async def give_back(self, conn: AsyncConnection, *, clean: bool) -> None:
        """`clean`: the block ended without an error. Only then is the connection kept."""
        if clean and not self._closed and _alive(conn):
            if conn.in_transaction():
                # A Core statement of an autocommit block began SQLAlchemy's own bookkeeping
                # transaction (nothing on the server): ended so the next block starts clean.
                try:
                    await conn.rollback()
                except Exception:
                    await self._discard(conn)
                    return
            self._pass_on(conn)
            return
        # Shielded as SQLAlchemy shields its own close: a cancelled block still hands it back.
        await asyncio.shield(self._discard(conn))

    async def close(self) -> None:
        """Closes the idle connections now, and every other one as it comes back."""
        self._closed = True
        while self._idle:
            await self._discard(self._idle.pop()[0])
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the kept connections are closed"))

    def _forget(self, waiter: asyncio.Future[AsyncConnection | None]) -> None:
        """A waiter gone (cancelled, timed out): what it was handed meanwhile goes to the next."""
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            self._pass_on(waiter.result())
        elif waiter in self._waiters:
            self._waiters.remove(waiter)

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
            return await self._engine.connect()
        except BaseException:
            self._open -= 1
            self._pass_on(None)
            raise

    async def _usable(self, conn: AsyncConnection, since: float) -> bool:
        if not _alive(conn):
            await self._discard(conn)
            return False
        if time.monotonic() - since < TRUSTED_IDLE_S:
            return True
        try:
            await _live_adapter(conn).driver_connection.fetchrow(";")
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


class Autocommit:
    """`KeptConnections.autocommit`'s block. A class rather than a generator-based context manager:
    a sandbox delivery enters two such blocks, and each generator layer (this one, and the
    connection block it was built on) cost a few microseconds of a delivery's 500."""

    __slots__ = ("_adapter", "_conn", "_kept")

    def __init__(self, kept: KeptConnections) -> None:
        self._kept = kept

    async def __aenter__(self) -> AsyncConnection:
        self._conn = await self._kept.take()
        self._adapter = _live_adapter(self._conn)
        self._adapter.autocommit = True
        return self._conn

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        # Before anything else: a connection left in autocommit would turn the next block's
        # transaction, here or in the engine's pool, into single statements.
        self._adapter.autocommit = False
        await self._kept.give_back(self._conn, clean=kind is None)


def _live_adapter(conn: AsyncConnection) -> Any:
    """The adapter of a connection known to be live (kept connections are checked when taken)."""
    adapter = direct_sql.live_adapter(conn)
    assert adapter is not None
    return adapter


def _alive(conn: AsyncConnection) -> bool:
    adapter = direct_sql.live_adapter(conn)
    return adapter is not None and not adapter.driver_connection.is_closed()
