"""Fixtures the infrastructure's tests share: a bus of their own and the spans they make."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crier.kit.bus import Bus
from tests.support.stack import Infra


@pytest.fixture
async def bus(infra: Infra) -> AsyncIterator[Bus]:
    """A connection in a namespace of its own, its streams in place."""
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    await bus.ensure_streams()
    yield bus
    await bus.close()


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The spans this process finishes. The process has one tracer provider: the SDK's, with this
    exporter added, whoever set it first."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        trace.set_tracer_provider(TracerProvider())
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "a tracer provider other than the SDK's is installed"
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()
