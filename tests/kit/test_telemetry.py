"""Which exporter and resource the OTEL_* and CRIER_OTEL_* variables give, and the spans of a
process with no exporter (the export itself is tested end to end in tests/e2e/test_otlp_export.py)."""

from __future__ import annotations

import json

import httpx
import pytest
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crier.kit import log
from crier.kit.bus import outbox
from crier.kit.http_spans import safe_url
from crier.kit.telemetry import (
    TelemetryMisconfigured,
    UnrecordedTracerProvider,
    extract_context,
    inject_headers,
    resource,
    span_exporter,
    spans_recorded,
    tracer_provider,
)

CRIER_ENDPOINT = "http://crier-collector:4318/v1/traces"


def test_crier_settings_choose_the_exporter_when_the_standard_variables_are_silent() -> None:
    assert span_exporter("none", CRIER_ENDPOINT, {}) is None
    assert isinstance(span_exporter("console", CRIER_ENDPOINT, {}), ConsoleSpanExporter)
    exporter = span_exporter("otlp", CRIER_ENDPOINT, {})
    assert isinstance(exporter, OTLPSpanExporter) and exporter._endpoint == CRIER_ENDPOINT


def test_standard_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    # An OTLP endpoint alone turns export on, and the exporter reads it itself.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    exporter = span_exporter("none", CRIER_ENDPOINT, env)
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "http://collector:4318/v1/traces"
    assert span_exporter("otlp", CRIER_ENDPOINT, {"OTEL_TRACES_EXPORTER": "none"}) is None


def test_an_unusable_protocol_is_a_clear_error() -> None:
    with pytest.raises(TelemetryMisconfigured, match="opentelemetry-exporter-otlp-proto-grpc"):
        span_exporter("otlp", CRIER_ENDPOINT, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with pytest.raises(TelemetryMisconfigured, match="http/json"):
        span_exporter("otlp", CRIER_ENDPOINT, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"})


def test_service_name_is_ours_unless_the_environment_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging")
    one_platform = resource("publisher", "mastodon").attributes
    assert one_platform["service.name"] == "crier-publisher-mastodon"
    assert one_platform["crier.platform"] == "mastodon"
    assert one_platform["deployment.environment.name"] == "staging"
    assert resource("publisher", "all").attributes["service.name"] == "crier-publisher"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "crier-eu-gateway")
    assert resource("gateway").attributes["service.name"] == "crier-eu-gateway"


def test_urls_in_spans_carry_no_credentials_or_query() -> None:
    url = httpx.URL("https://user:pw@graph.example/v23.0/me?access_token=EAAB&fields=id")
    assert safe_url(url) == "https://graph.example/v23.0/me"


def test_about_names_the_work_on_log_lines_and_on_the_span(capsys: pytest.CaptureFixture[str]) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    log.configure("unit", "info")
    with provider.get_tracer("t").start_as_current_span("deliver") as span:
        with log.about(post_id="post_1", target_id="tgt_1", platform="x"):
            log.get("t").info("publisher.target_published")
        log.get("t").info("publisher.after")
    inside, after = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-2:])
    assert (inside["post_id"], inside["target_id"], inside["platform"]) == ("post_1", "tgt_1", "x")
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "post_id" not in after
    [finished] = spans.get_finished_spans()
    assert finished.attributes == {"crier.post_id": "post_1", "crier.target_id": "tgt_1", "crier.platform": "x"}


def _traceparent() -> str:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier["traceparent"]


def test_without_an_exporter_spans_record_nothing_and_carry_the_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    provider = tracer_provider("publisher", "none", "", env={})
    assert isinstance(provider, UnrecordedTracerProvider)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("root") as root:
        assert not root.is_recording()
        began = root.get_span_context()
        assert began.is_valid and began.trace_flags.sampled  # a trace begins here, sampled
        with tracer.start_as_current_span("child") as child:
            assert child.get_span_context().trace_id == began.trace_id
            assert _traceparent() == f"00-{began.trace_id:032x}-{began.span_id:016x}-01"
    # A trace come in with a message goes on as its caller left it, its flags included.
    incoming = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}
    with tracer.start_as_current_span("process", context=extract_context(incoming)):
        assert _traceparent() == incoming["traceparent"]


def test_without_an_exporter_the_sampler_still_flags_a_new_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    tracer = tracer_provider("gateway", "none", "", env={}).get_tracer("t")
    with tracer.start_as_current_span("root") as root:
        assert root.get_span_context().is_valid and not root.get_span_context().trace_flags.sampled


def test_with_an_exporter_spans_are_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = tracer_provider("gateway", "console", "", env={})
    assert isinstance(provider, TracerProvider)
    with provider.get_tracer("t").start_as_current_span("root") as span:
        assert span.is_recording()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    assert spans_recorded()
    provider.shutdown()


def test_unrecorded_the_relay_sends_a_messages_trace_on_as_it_was_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "crier=1"}
    provider = tracer_provider("publisher", "none", "", env={})
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    assert not spans_recorded()
    assert outbox._sent_in_a_producer_span("evt.post.created", "m-1", dict(stored)) == stored
    # What a span of the unrecorded tracer would have passed on: the same context, so nothing is lost.
    with provider.get_tracer("t").start_as_current_span("send", context=extract_context(stored)):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
    assert {**stored, **carrier} == stored


def test_message_headers_follow_the_current_context_and_each_caller_gets_its_own() -> None:
    tracer = tracer_provider("publisher", "none", "", env={}).get_tracer("t")
    first = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    second = {"traceparent": "00-1bf7651916cd43dd8448eb211c80319d-c7ad6b7169203332-00"}
    with tracer.start_as_current_span("process", context=extract_context(first)):
        headers = inject_headers()
        assert headers == first
        headers["Nats-Msg-Id"] = "m-1"  # a caller's own change stays its own
        assert inject_headers() == first
    with tracer.start_as_current_span("process", context=extract_context(second)):
        assert inject_headers() == second
    with tracer.start_as_current_span("process", context=extract_context(first)):
        assert inject_headers() == first
    assert "traceparent" not in inject_headers()  # outside any trace
