"""Which exporter and resource the OTEL_* and CRIER_OTEL_* variables give (the export itself is
tested end to end in tests/e2e/test_otlp_export.py)."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from crier.kit.http_spans import safe_url
from crier.kit.telemetry import TelemetryMisconfigured, resource, span_exporter

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
