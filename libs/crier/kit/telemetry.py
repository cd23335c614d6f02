"""OpenTelemetry set-up and trace-context propagation through NATS headers.

The standard `OTEL_*` variables work as the OpenTelemetry SDK reads them; Crier's own settings
fill in only what they leave unsaid:
- `OTEL_SDK_DISABLED=true`: no spans are recorded or exported (trace context still travels).
- No exporter (the default): spans record nothing, since nothing would read it, and carry the trace
  on: a trace begun here gets its id (in the logs, in the `traceparent` sent on, sampled as the
  sampler says), a trace come in with a request or a message goes on under its caller's span.
  The SDK recorded every span even so: py-spy put it at about a tenth of a live delivery's CPU.
- The exporter: `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`), else `CRIER_OTEL_EXPORTER`
  when it is not `none`, else `otlp` as soon as `OTEL_EXPORTER_OTLP_ENDPOINT` or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set.
- Where OTLP goes: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` (plus
  `/v1/traces`), else `CRIER_OTEL_ENDPOINT`; `OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION`
  and `OTEL_BSP_*` are read by the SDK. `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` is `http/protobuf`
  (the default) or `grpc`, which needs `opentelemetry-exporter-otlp-proto-grpc` installed.
- The sampler: `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (default: parent-based, always on).
- The resource: `service.name` is `crier-<service>` (`crier-publisher-<platform>` for a one-platform
  publisher) unless `OTEL_SERVICE_NAME` or `service.name` in `OTEL_RESOURCE_ATTRIBUTES` says
  otherwise; every other attribute of `OTEL_RESOURCE_ATTRIBUTES` is added.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler
from opentelemetry.util.types import Attributes

from crier.kit.metrics import service_name

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


class TelemetryMisconfigured(ValueError):
    """The OTEL_* or CRIER_OTEL_* variables ask for something this installation cannot do."""


def configure(
    service: str,
    exporter: str = "none",
    endpoint: str = "",
    *,
    platform: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> None:
    """Install the process's tracer provider. `exporter`/`endpoint`: CRIER_OTEL_EXPORTER and
    CRIER_OTEL_ENDPOINT; `env`: where the OTEL_* variables are (the SDK reads the process's own)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    trace.set_tracer_provider(tracer_provider(service, exporter, endpoint, platform=platform, env=env))


def tracer_provider(
    service: str, exporter: str, endpoint: str, *, platform: str | None = None, env: Mapping[str, str] = os.environ
) -> trace.TracerProvider:
    """The SDK's provider with its exporter, or, when there is none, one whose spans record nothing."""
    chosen = span_exporter(exporter, endpoint, env)
    if chosen is None:
        return UnrecordedTracerProvider(TracerProvider(shutdown_on_exit=False).sampler)
    provider = TracerProvider(resource=resource(service, platform))  # the sampler: from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(chosen))
    return provider


class UnrecordedTracerProvider(trace.TracerProvider):
    """Spans that carry the trace and record nothing (`UnrecordedTracer`)."""

    def __init__(self, sampler: Sampler) -> None:
        self._tracer = UnrecordedTracer(sampler)

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return self._tracer


class UnrecordedTracer(trace.NoOpTracer):
    """A span in a trace under way is its parent's context again (a span of its own would be an id
    nobody can look up); a span with no trace to join begins one, with new ids and the flag
    `sampler` decides, so the logs and whatever is called next still see a trace. The API's no-op
    tracer would begin none."""

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler
        self._ids = RandomIdGenerator()

    def start_span(
        self,
        name: str,
        context: context.Context | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            return trace.NonRecordingSpan(parent)
        trace_id = self._ids.generate_trace_id()
        decided = self._sampler.should_sample(context, trace_id, name, kind, attributes, links)
        sampled = decided.decision is Decision.RECORD_AND_SAMPLE
        flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT)
        return trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id,
                self._ids.generate_span_id(),
                is_remote=False,
                trace_flags=flags,
                trace_state=decided.trace_state,
            )
        )


def resource(service: str, platform: str | None = None) -> Resource:
    """Ours first, then whatever OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME say over it."""
    ours: dict[str, str] = {"service.name": service_name(service, platform), "service.namespace": "crier"}
    if platform and platform != "all":
        ours["crier.platform"] = platform
    said = OTELResourceDetector().detect().attributes
    return Resource.create({**ours, **said})


def span_exporter(exporter: str, endpoint: str, env: Mapping[str, str]) -> SpanExporter | None:
    kind = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not kind:
        standard_endpoint = any(env.get(name) for name in _ENDPOINTS)
        kind = exporter if exporter != "none" or not standard_endpoint else "otlp"
    if kind == "none":
        return None
    if kind == "console":
        return ConsoleSpanExporter()
    if kind != "otlp":
        raise TelemetryMisconfigured(f"unknown traces exporter {kind!r}: choose otlp, console or none")
    # An OTEL_* endpoint wins: the exporter reads it itself when it is handed none.
    url = None if any(env.get(name) for name in _ENDPOINTS) else endpoint or None
    protocol = next((env[name] for name in _PROTOCOLS if env.get(name)), "http/protobuf").strip()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=url)
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            raise TelemetryMisconfigured(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the opentelemetry-exporter-otlp-proto-grpc package, "
                "which is not installed; use http/protobuf (port 4318) or install it"
            ) from None
        exporter_grpc: SpanExporter = GrpcExporter(endpoint=url)
        return exporter_grpc
    raise TelemetryMisconfigured(f"OTLP protocol {protocol!r} is not supported: choose http/protobuf or grpc")


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def spans_recorded() -> bool:
    """Whether this process's spans are recorded: False with no exporter (`UnrecordedTracerProvider`)
    or no provider installed. Then a span in a trace under way is only its parent's context again,
    and code that would open one to pass its context on can pass the parent's instead."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, UnrecordedTracerProvider | trace.ProxyTracerProvider | trace.NoOpTracerProvider)


# The headers of contexts injected lately, by the context's id (the context held with them, so the
# id is not reused meanwhile). A context is immutable: the same object means the same headers, and
# the messages one piece of work writes (a delivery's two events, among the deliveries interleaved
# with it) are injected once. Each propagation was 2 % of a sandbox publisher's CPU. Bounded: cleared
# when full, as the contexts of finished work are never asked for again.
_INJECTED: dict[int, tuple[context.Context, dict[str, str]]] = {}
_INJECTED_MAX = 1024


def inject_headers() -> dict[str, str]:
    """The current trace context (and baggage) as message headers; a new dict each time."""
    current = context.get_current()
    found = _INJECTED.get(id(current))
    if found is not None and found[0] is current:
        return dict(found[1])
    headers: dict[str, str] = {}
    propagate.inject(headers, context=current)
    if len(_INJECTED) >= _INJECTED_MAX:
        _INJECTED.clear()
    _INJECTED[id(current)] = (current, headers)
    return dict(headers)


def extract_context(headers: Mapping[str, str] | None) -> context.Context:
    return propagate.extract(dict(headers or {}))
