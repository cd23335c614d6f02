"""Async SQLAlchemy engine per service, bound to the service's own Postgres schema."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util.concurrency import await_

# A connection back in the pool for less than this is handed out without a round trip to the
# server: under load every connection comes back within milliseconds, and a ping per check-out was
# one of a post create's eight round trips. A connection the server closed (a restart, a
# terminated backend) is still caught at once: asyncpg marks it closed when its socket closes.
TRUSTED_IDLE_S = 2.0


def async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def create_engine(url: str, schema: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """Every connection's search_path is the service's schema: a service cannot see another's tables
    by accident, and its SQL never names a schema."""
    overflow = pool_size if max_overflow is None else max_overflow
    engine = create_async_engine(
        async_url(url),
        # The connections opened under load are kept, up to the same ceiling: as SQLAlchemy's
        # overflow they were closed whenever they came back to a full pool, and reopened a moment
        # later while the load lasted (a TLS probe, the start-up and the JSON codecs' set-up each
        # time: under a steady 32 requests the gateway opened and closed connections all along).
        pool_size=pool_size + overflow,
        max_overflow=0,
        connect_args={"server_settings": {"search_path": schema, "application_name": f"crier-{schema}"}},
        # JSON and JSONB results decoded by msgspec rather than the standard library's json: the
        # same values (the database holds no NaN or infinity to tell them apart), in a fraction of
        # the time; the stdlib decoder was 1.5 % of the gateway's samples in a draft burst.
        json_deserializer=msgspec.json.decode,
    )
    event.listen(engine.sync_engine.pool, "connect", _note_checkin)
    event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _check_alive)
    return engine


def _note_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _check_alive(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
    """The pool's check-out check, in place of SQLAlchemy's pre-ping (which wraps its ping in
    BEGIN … ROLLBACK, three round trips, on every check-out). A connection idle for a while gets one
    `;` round trip; one just returned gets none unless asyncpg already knows it closed. Raising
    DisconnectionError makes the pool replace this connection and retry the check-out."""
    driver = dbapi_connection._connection
    if driver.is_closed():
        raise exc.DisconnectionError("connection closed by the server")
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is not None and time.monotonic() - checked_in_at < TRUSTED_IDLE_S:
        return
    try:
        await_(driver.fetchrow(";"))
    except Exception as error:
        raise exc.DisconnectionError(f"connection check failed: {error!r}") from error


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.begin() as conn:
        yield conn
