"""With CRIER_OTEL_DB_SPANS, every statement is a CLIENT span under the current one, carrying its
text and never its parameters; a failing statement's span is an error."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from crier.kit.db import create_engine
from crier.kit.db_spans import trace_statements
from tests.support.stack import Infra


async def test_each_statement_is_a_client_span_without_its_parameters(
    infra: Infra, exporter: InMemorySpanExporter
) -> None:
    engine = create_engine(infra.database_url("postgres"), "public", pool_size=1)
    trace_statements(engine, "public")
    try:
        with trace.get_tracer("test").start_as_current_span("request") as request:
            async with engine.connect() as conn:
                assert (
                    await conn.scalar(sa.text("SELECT CAST(:secret AS text)"), {"secret": "sk_live_hidden"})
                    == "sk_live_hidden"
                )
                with pytest.raises(sa.exc.ProgrammingError):
                    await conn.execute(sa.text("SELECT * FROM no_such_table"))
    finally:
        await engine.dispose()
    spans = [s for s in exporter.get_finished_spans() if s.attributes and s.attributes.get("db.system.name")]
    assert [(s.name, s.kind) for s in spans] == [("SELECT public", SpanKind.CLIENT)] * 2
    ok, failed = spans
    assert ok.parent is not None and ok.parent.span_id == request.get_span_context().span_id
    assert ok.attributes["db.query.text"].startswith("SELECT CAST($1")
    assert "sk_live_hidden" not in str(ok.attributes)
    assert ok.status.status_code == StatusCode.UNSET
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes["db.response.status_code"] == "42P01"  # undefined_table
