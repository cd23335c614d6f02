"""Spans reach an OTLP collector from every service as processes: request/reply calls in one trace,
platform calls and webhook attempts as CLIENT spans, and the resource the OTEL_* variables set."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crier.contracts.common import Platform
from tests.e2e.conftest import create_post, wait_post
from tests.support.hooks import Receiver
from tests.support.live import Live, connect_live, start_live, stop_live
from tests.support.otlp import ExportedSpan, OtlpReceiver
from tests.support.stack import Infra, wait_for

PLATFORM: Platform = "linkedin"
ENVIRONMENT = f"otlp-test-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def traced(infra: Infra, tmp_path_factory: pytest.TempPathFactory, collector: OtlpReceiver) -> Iterator[Live]:
    live = start_live(
        infra,
        tmp_path_factory.mktemp("otlp"),
        {
            # Only the standard variables: CRIER_OTEL_EXPORTER stays "none".
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment.name={ENVIRONMENT}",
        },
    )
    yield live
    stop_live(live)


def _find(collector: OtlpReceiver, what: str, match: Callable[[ExportedSpan], bool]) -> list[ExportedSpan]:
    found: list[ExportedSpan] = wait_for(lambda: [s for s in collector.spans() if match(s)], what=what)
    return found


def test_rpc_call_and_its_handler_are_one_trace(traced: Live, collector: OtlpReceiver) -> None:
    connect_live(traced, PLATFORM)  # the gateway asks connect for an auth URL, then the callback

    def pairs() -> list[tuple[ExportedSpan, ExportedSpan]]:
        spans = collector.spans()
        clients = [
            s
            for s in spans
            if s.kind == "client" and s.service == "crier-gateway" and s.name.startswith("rpc rpc.connect")
        ]
        servers = [s for s in spans if s.kind == "server" and s.service == "crier-connect"]
        return [(c, s) for c in clients for s in servers if s.parent_span_id == c.span_id and s.trace_id == c.trace_id]

    client, server = wait_for(pairs, what="a gateway → connect RPC as client and server spans of one trace")[0]
    assert server.name == client.name
    assert client.attributes["messaging.system"] == "nats"
    assert client.attributes["messaging.destination.name"].endswith(client.name.removeprefix("rpc "))
    assert server.attributes["messaging.operation.type"] == "process"


def test_one_trace_holds_a_post_from_its_request_to_its_webhook(traced: Live, collector: OtlpReceiver) -> None:
    account = connect_live(traced, PLATFORM)
    hooks = Receiver()
    trace_id = secrets.token_hex(16)
    try:
        with account.org.live() as api:
            r = api.post("/webhooks", json={"url": hooks.url, "events": ["post.published"]})
            assert r.status_code == 201, r.text
            endpoint_id = r.json()["id"]
            headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
            post = create_post(api, headers=headers, content="Traced", accounts=[account.id])
            assert wait_post(api, post["id"])["status"] == "published"
        [sent] = wait_for(lambda: [h for h in hooks.headers if "traceparent" in h], what="a webhook with traceparent")
    finally:
        hooks.server.shutdown()

    [platform_call, *_] = _find(
        collector,
        "the publisher's platform call in the post's trace",
        lambda s: s.trace_id == trace_id and s.kind == "client" and s.attributes.get("crier.platform") == PLATFORM,
    )
    assert platform_call.service.startswith("crier-publisher")
    assert platform_call.name.split() == [platform_call.attributes["http.request.method"], PLATFORM]
    assert "?" not in platform_call.attributes["url.full"]  # no query-string secrets in a trace

    # The outbox relay's send of the post's creation is a PRODUCER span of the post's trace, and the
    # scheduler's handling of it a CONSUMER-side span under that send.
    [send] = _find(
        collector,
        "the relay's send of evt.post.created",
        lambda s: s.trace_id == trace_id and s.kind == "producer" and s.name == "send evt.post.created",
    )
    assert send.service == "crier-gateway" and send.attributes["messaging.system"] == "nats"
    _find(collector, "a span under the send", lambda s: s.parent_span_id == send.span_id)

    _, hook_trace, hook_span, _ = sent["traceparent"].split("-")
    [attempt] = _find(collector, "the webhook attempt's span", lambda s: s.span_id == hook_span)
    assert (attempt.trace_id, attempt.kind, attempt.service) == (hook_trace, "client", "crier-webhooks")
    # The attempt, made later from the webhooks' queue, still belongs to the post's trace.
    assert hook_trace == trace_id
    assert attempt.attributes["crier.webhook.attempt"] == 1
    assert attempt.attributes["crier.webhook.endpoint_id"] == endpoint_id
    assert attempt.attributes["http.response.status_code"] == 204

    # One trace holds the whole journey: the request, the scheduler, the delivery, the platform
    # call (above), the gateway's projection update and the webhook attempt (above).
    def one(what: str, service: str, kind: str, name: str) -> ExportedSpan:
        [span, *_] = _find(
            collector,
            what,
            lambda s: s.trace_id == trace_id and s.service.startswith(service) and s.kind == kind and s.name == name,
        )
        return span

    request = one("the create request", "crier-gateway", "server", "POST /api/v1/posts")
    assert request.attributes["http.route"] == "/api/v1/posts"
    assert request.attributes["http.response.status_code"] == 201
    scheduled = one("the scheduler's handling", "crier-scheduler", "consumer", "process evt.post.created")
    assert scheduled.attributes["crier.post_id"] == post["id"]
    [delivery, *_] = _find(
        collector,
        "the publisher's delivery",
        lambda s: (
            s.trace_id == trace_id and s.kind == "consumer" and s.name.startswith(f"process cmd.publish.{PLATFORM}")
        ),
    )
    assert delivery.attributes["crier.platform"] == PLATFORM and delivery.attributes["crier.post_id"] == post["id"]
    assert delivery.attributes["messaging.system"] == "nats" and delivery.attributes["crier.target_id"]
    # Alone, or handled together with the same post's other reports (one span listing their subjects).
    [projection, *_] = _find(
        collector,
        "the gateway's projection update",
        lambda s: (
            s.trace_id == trace_id
            and s.service == "crier-gateway"
            and s.kind == "consumer"
            and "evt.target.published"
            in s.attributes.get("crier.subjects", [s.attributes.get("messaging.destination.name")])
        ),
    )
    assert projection.attributes["crier.target_id"] == delivery.attributes["crier.target_id"]


def test_resource_carries_the_otel_variables(traced: Live, collector: OtlpReceiver, tmp_path: Path) -> None:
    wait_for(lambda: {s.service for s in collector.spans()} >= {"crier-gateway", "crier-connect"}, what="spans of both")
    assert {s.resource.get("deployment.environment.name") for s in collector.spans()} == {ENVIRONMENT}
    # OTEL_SERVICE_NAME wins over the name Crier gives, as the specification says.
    probe = (
        "from crier.kit import telemetry\n"
        "telemetry.configure('probe')\n"
        "with telemetry.tracer('t').start_as_current_span('probe'): pass\n"
    )
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url.removesuffix("/v1/traces"),
        "OTEL_SERVICE_NAME": "renamed",
    }
    env.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
    subprocess.run([sys.executable, "-c", probe], env=env, check=True, timeout=60, cwd=tmp_path)
    [span] = _find(collector, "the probe's span", lambda s: s.name == "probe")
    assert span.service == "renamed"
