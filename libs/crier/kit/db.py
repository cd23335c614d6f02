"""Async SQLAlchemy engine per service, bound to the service's own Postgres schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_


def async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def create_engine(url: str, schema: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """Every connection's search_path is the service's schema: a service cannot see another's tables
    by accident, and its SQL never names a schema."""
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": schema, "application_name": f"crier-{schema}"}},
    )
    engine.sync_engine.dialect.do_ping = _ping  # type: ignore[method-assign]
    return engine


def _ping(dbapi_connection: Any) -> bool:
    """The pool's check-out ping in one round trip. SQLAlchemy's asyncpg ping wraps its `;` in
    BEGIN … ROLLBACK (for pgbouncer's transaction mode, which we do not use): three round trips on
    every check-out. Errors are translated the same way, so a dead connection is still replaced."""
    try:
        await_(dbapi_connection._connection.fetchrow(";"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.begin() as conn:
        yield conn
