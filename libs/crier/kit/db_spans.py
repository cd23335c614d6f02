"""A CLIENT span per database statement, when `CRIER_OTEL_DB_SPANS` asks for them (off by default:
a post's trace then holds a few dozen more spans).

Written on SQLAlchemy's own cursor events rather than with opentelemetry-instrumentation-asyncpg:
its latest release pins an older semantic-conventions package than the SDK Crier runs, and the
events see every statement of every service, whatever the driver call behind it. The statement's
text is recorded, never its parameters (they hold posts' text, key hashes and tokens).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_tracer = trace.get_tracer("crier.db")
_SPAN = "_crier_span"


def trace_statements(engine: AsyncEngine, schema: str) -> None:
    """Open a span before each statement the engine runs and end it after, or on its error."""

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = _tracer.start_span(
            f"{operation} {schema}",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": "postgresql",
                "db.namespace": schema,
                "db.operation.name": operation,
                "db.query.text": statement[:2000],
            },
        )
        setattr(context, _SPAN, span)

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        span = getattr(context, _SPAN, None)
        if span is not None:
            span.end()

    def failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, _SPAN, None)
        if span is not None:
            error = exception_context.original_exception
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.set_attribute("error.type", type(error).__name__)
            sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
            if isinstance(sqlstate, str):
                span.set_attribute("db.response.status_code", sqlstate)
            span.end()

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    event.listen(engine.sync_engine, "handle_error", failed)
