"""A CLIENT span per database statement, when `CRIER_OTEL_DB_SPANS` asks for them (off by default:
a post's trace then holds a few dozen more spans).

Written on SQLAlchemy's own cursor events rather than with opentelemetry-instrumentation-asyncpg:
its latest release pins an older semantic-conventions package than the SDK Crier runs, and the
events see every statement SQLAlchemy runs, whatever the driver call behind it; the statements run
on the driver directly (`direct_sql`) open theirs with `start_span`. The statement's text is
recorded, never its parameters (they hold posts' text, key hashes and tokens).
"""

from __future__ import annotations

import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

_tracer = trace.get_tracer("crier.db")
_SPAN = "_crier_span"
# The schema of each engine whose statements are traced.
_traced: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def trace_statements(engine: AsyncEngine, schema: str) -> None:
    """Open a span before each statement the engine runs and end it after, or on its error."""
    _traced[engine.sync_engine] = schema

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        setattr(context, _SPAN, start_span(engine.sync_engine, statement))

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        end_span(getattr(context, _SPAN, None))

    def failed(exception_context: Any) -> None:
        end_span(getattr(exception_context.execution_context, _SPAN, None), exception_context.original_exception)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    event.listen(engine.sync_engine, "handle_error", failed)


def start_span(engine: Engine, statement: str) -> Span | None:
    """The statement's span, if the engine's statements are traced."""
    schema = _traced.get(engine)
    if schema is None:
        return None
    operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
    return _tracer.start_span(
        f"{operation} {schema}",
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": "postgresql",
            "db.namespace": schema,
            "db.operation.name": operation,
            "db.query.text": statement[:2000],
        },
    )


def end_span(span: Span | None, error: BaseException | None = None) -> None:
    if span is None:
        return
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)
        seen: BaseException | None = error
        while seen is not None:  # the driver's error, under SQLAlchemy's and its adapter's
            sqlstate = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
            if isinstance(sqlstate, str):
                span.set_attribute("db.response.status_code", sqlstate)
                break
            seen = getattr(seen, "orig", None) or seen.__cause__
    span.end()
