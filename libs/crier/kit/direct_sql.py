"""The hottest statements, run on the driver itself inside the transaction SQLAlchemy holds.

SQLAlchemy's execution path (cache lookup, parameter processing, the greenlet hand-off, the cursor
adapter, Row building, event dispatch) costs about 85 µs of CPU per statement above asyncpg's own
50 µs (measured on one connection here): on the few statements every post runs, a tenth or more of
a service's CPU. A `DirectStatement` is compiled by SQLAlchemy once, so its text and the order of
its parameters are SQLAlchemy's own, and then runs with asyncpg's `fetch` on the connection the
`AsyncConnection` holds, which is everything SQLAlchemy would do but the overhead:

- the transaction: SQLAlchemy's asyncpg adapter sends BEGIN lazily, before a transaction's first
  statement; `fetch` does the same, under the adapter's own lock, so SQLAlchemy's commit or rollback
  ends the transaction as usual. An autocommit connection (`uow.read`) gets none.
- errors come out as SQLAlchemy's would (`IntegrityError` with the driver's error as the cause of
  `.orig`, `OperationalError`, `connection_invalidated` …), and a connection the error shows lost is
  invalidated, so the pool replaces it;
- a CLIENT span per statement when `CRIER_OTEL_DB_SPANS` asks for them (`db_spans`).

The driver gets parameters as they are given: a statement whose parameters SQLAlchemy would convert
(bind processors, e.g. a JSON column's) is refused when it is built; JSON goes as text with a CAST.
JSON results are decoded by the codec SQLAlchemy installs on every connection, as through
SQLAlchemy. Rows are asyncpg Records: by name (`row["id"]`) or by position.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from crier.kit import db_spans

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
_NO_PARAMS: Mapping[str, Any] = {}


class DirectStatement:
    """A statement compiled once into asyncpg's form: `$n` placeholders and the parameter names
    they stand for. Parameters with a value in the statement (Core's literals) are its defaults."""

    __slots__ = ("defaults", "names", "sql")

    def __init__(self, statement: ClauseElement | str) -> None:
        clause = sa.text(statement) if isinstance(statement, str) else statement
        compiled = cast(SQLCompiler, clause.compile(dialect=_DIALECT))
        processors: dict[str, Any] = dict(compiled._bind_processors)
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # The statement's own values, converted here once.
        self.defaults = {
            name: processors[name](bind.effective_value) if name in processors else bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and name in self.names
        }
        converted = sorted(
            n for n in processors if n not in self.defaults and not _driver_ready(compiled.binds[n].type)
        )
        if converted:
            raise TypeError(f"parameters {converted} need SQLAlchemy's conversion; pass them ready for the driver")

    def explained(self) -> DirectStatement:
        """`EXPLAIN` of the statement, with the same parameters: its plan, the statement unrun."""
        plan = copy.copy(self)
        plan.sql = f"EXPLAIN {self.sql}"
        return plan

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        try:
            return [params[n] if n in params else self.defaults[n] for n in self.names]
        except KeyError as missing:
            raise TypeError(f"statement parameter {missing} not given") from None


def _driver_ready(kind: sa.types.TypeEngine[Any]) -> bool:
    """Types whose processor only checks or repacks what the driver takes as it is: a boolean (it
    refuses anything but a bool or None) and an array of a type SQLAlchemy does not convert (it
    makes a list of any sequence)."""
    if isinstance(kind, sa.Boolean):
        return True
    return isinstance(kind, sa.ARRAY) and kind.item_type.dialect_impl(_DIALECT).bind_processor(_DIALECT) is None


def live_adapter(conn: AsyncConnection) -> Any | None:
    """SQLAlchemy's asyncpg adapter under `conn`, reached without a greenlet (SQLAlchemy's own path
    to it, `get_raw_connection`, hands off to one); None when the connection is lost or closed."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    return sync.connection.dbapi_connection


async def fetch(
    conn: AsyncConnection, statement: DirectStatement, params: Mapping[str, Any] = _NO_PARAMS
) -> list[asyncpg.Record]:
    args = statement.args(params)
    # An invalidated connection reconnects through SQLAlchemy (a greenlet hand-off).
    adapter: Any = live_adapter(conn) or (await conn.get_raw_connection()).dbapi_connection
    span = db_spans.start_span(conn.engine.sync_engine, statement.sql)
    try:
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()
            rows: list[asyncpg.Record] = await adapter.driver_connection.fetch(statement.sql, *args)
    except Exception as error:
        translated = await _as_sqlalchemy_error(conn, adapter, statement.sql, args, error)
        db_spans.end_span(span, translated)
        raise translated from error
    db_spans.end_span(span)
    return rows


async def fetchrow(
    conn: AsyncConnection, statement: DirectStatement, params: Mapping[str, Any] = _NO_PARAMS
) -> asyncpg.Record | None:
    rows = await fetch(conn, statement, params)
    return rows[0] if rows else None


async def commit(conn: AsyncConnection) -> None:
    """Commits the transaction this module's statements began on `conn` (as SQLAlchemy's adapter
    begins one, before the first statement), as SQLAlchemy's commit would but without its greenlet
    hand-offs: for a block whose statements all ran here, which SQLAlchemy's connection does not
    see as a transaction. Nothing to do when none began. Errors come out as SQLAlchemy's."""
    adapter = live_adapter(conn)
    if adapter is None or adapter._transaction is None:
        return  # none began, or a lost connection: its transaction is gone with it, as its error said
    span = db_spans.start_span(conn.engine.sync_engine, "COMMIT")
    try:
        await adapter._call_and_discard(adapter._transaction.commit)
    except Exception as error:
        translated = await _as_sqlalchemy_error(conn, adapter, "COMMIT", [], error)
        db_spans.end_span(span, translated)
        raise translated from error
    db_spans.end_span(span)


async def _as_sqlalchemy_error(
    conn: AsyncConnection, adapter: Any, sql: str, args: list[Any], error: Exception
) -> Exception:
    """What SQLAlchemy's `Connection` raises for `error`, with the same invalidation."""
    dialect = conn.dialect
    dbapi_error: Exception = error
    if not isinstance(error, dialect.loaded_dbapi.Error):
        try:
            adapter._handle_exception(error)  # the adapter's translation: always raises
        except Exception as translated:
            dbapi_error = translated
    if not isinstance(dbapi_error, dialect.loaded_dbapi.Error):
        return dbapi_error
    invalidated = bool(dialect.is_disconnect(dbapi_error, adapter, None))
    if invalidated:
        await conn.invalidate(dbapi_error)
    return sa_exc.DBAPIError.instance(
        sql, args, dbapi_error, dialect.loaded_dbapi.Error, connection_invalidated=invalidated, dialect=dialect
    )
