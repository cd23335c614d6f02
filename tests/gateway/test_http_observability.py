"""The gateway as its own process, watched as an operator watches it: requests counted and timed by
route template (never by path), posts and targets counted once however often a create is replayed,
and a server span per request named by its route, an error only when the gateway answered 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crier.kit.embedded import free_port
from crier.kit.errors import Unavailable
from tests.gateway.conftest import BusDriver, Gateway, Org, start_gateway
from tests.support.otlp import ExportedSpan, OtlpReceiver
from tests.support.stack import Infra, wait_for

POST_ROUTE = "/api/v1/posts/{post_id}"


@dataclass
class Watched:
    gateway: Gateway
    metrics_port: int
    collector: OtlpReceiver
    org: Org
    post_ids: list[str]
    # The request id of each request whose span a test looks for, by what it was.
    request_ids: dict[str, str]

    def sample(self, name: str, **labels: str) -> float | None:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == name and s.labels == labels:
                    return s.value
        return None


def _send(c: httpx.Client, method: str, url: str, request_id: str, **kw: object) -> httpx.Response:
    return c.request(method, url, headers={"X-Request-Id": request_id, **kw.pop("headers", {})}, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def watched(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    collector, port = OtlpReceiver(), free_port()
    services, api_url = start_gateway(
        infra,
        tmp_path_factory.mktemp("observed-gateway"),
        env={
            "CRIER_METRICS_PORT": str(port),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
    )
    driver = BusDriver(infra.nats_url, services.namespace)
    driver.serve_fake_connect()
    gateway = Gateway(services, api_url, driver)
    try:
        org = gateway.new_org("observed")
        x, linkedin = (gateway.sandbox_account(org, p)["id"] for p in ("x", "linkedin"))
        ids: dict[str, str] = {}
        with org.test() as c:
            # One create, replayed under its Idempotency-Key; then a second post to one account.
            first = {"content": "counted once", "accounts": [x, linkedin]}
            replay = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
            created = c.post("/posts", json=first, headers=replay)
            again = c.post("/posts", json=first, headers=replay)
            assert created.status_code == 201 and again.json()["id"] == created.json()["id"], again.text
            second = c.post("/posts", json={"content": "another", "accounts": [x]})
            post_ids = [created.json()["id"], second.json()["id"]]
            for n, post_id in enumerate(post_ids):
                assert _send(c, "GET", f"/posts/{post_id}", ids.setdefault(f"found-{n}", uuid.uuid4().hex)).is_success
            missing = _send(c, "GET", f"/posts/{uuid.uuid4()}", ids.setdefault("missing", uuid.uuid4().hex))
            assert missing.status_code == 404
            for n in range(2):
                unknown = _send(
                    c, "GET", f"/no/such/{uuid.uuid4()}", ids.setdefault(f"unmatched-{n}", uuid.uuid4().hex)
                )
                assert unknown.status_code == 404
            # The connect service answering `unavailable`: the gateway's own 503, no outage of its own.
            driver.sandbox_failure = Unavailable("connect_unavailable", "connect is away")
            away = _send(
                c, "POST", "/sandbox/social-accounts", ids.setdefault("away", uuid.uuid4().hex),
                json={"platform": "x", "username": "away", "tenant_id": "t"},
            )  # fmt: skip
            assert away.status_code == 503, away.text
            driver.sandbox_failure = None
        yield Watched(gateway, port, collector, org, post_ids, ids)
    finally:
        driver.close()
        services.supervisor.stop_all()
        collector.stop()


def test_requests_are_counted_by_route_template_method_and_status(watched: Watched) -> None:
    requests = "crier_http_requests_total"
    assert watched.sample(requests, route=POST_ROUTE, method="GET", status="200") == 2
    assert watched.sample(requests, route=POST_ROUTE, method="GET", status="404") == 1
    # The replay answers 200 with the post its first request made.
    assert watched.sample(requests, route="/api/v1/posts", method="POST", status="201") == 2
    assert watched.sample(requests, route="/api/v1/posts", method="POST", status="200") == 1
    assert watched.sample(requests, route="unmatched", method="GET", status="404") == 2
    assert watched.sample(requests, route="/api/v1/sandbox/social-accounts", method="POST", status="503") == 1
    # Timed by route and method, whatever the status.
    assert watched.sample("crier_http_request_duration_seconds_count", route=POST_ROUTE, method="GET") == 3
    text = httpx.get(f"http://127.0.0.1:{watched.metrics_port}/metrics", timeout=5).text
    assert not any(post_id in text for post_id in watched.post_ids), "a path became a label"


def test_posts_and_targets_created_are_counted_once(watched: Watched) -> None:
    assert watched.sample("crier_posts_created_total", mode="test") == 2
    assert watched.sample("crier_targets_created_total", platform="x") == 2
    assert watched.sample("crier_targets_created_total", platform="linkedin") == 1
    assert watched.sample("crier_posts_created_total", mode="live") is None


def _span(watched: Watched, what: str) -> ExportedSpan:
    request_id = watched.request_ids[what]

    def exported() -> ExportedSpan | None:
        return next((s for s in watched.collector.spans() if s.attributes.get("crier.request_id") == request_id), None)

    found: ExportedSpan = wait_for(exported, what=f"the server span of the {what} request")
    return found


def test_server_spans_are_named_by_route_and_fail_only_on_5xx(watched: Watched) -> None:
    found = _span(watched, "found-0")
    assert found.attributes["crier.request_id"] == watched.request_ids["found-0"]
    assert found.kind == "server" and found.service == "crier-gateway"
    assert found.name == f"GET {POST_ROUTE}"
    assert found.attributes["http.route"] == POST_ROUTE
    assert found.attributes["http.request.method"] == "GET"
    assert found.attributes["http.response.status_code"] == 200
    assert found.attributes["url.path"] == f"/api/v1/posts/{watched.post_ids[0]}"
    assert found.status_code == 0

    missing = _span(watched, "missing")
    assert missing.name == f"GET {POST_ROUTE}" and missing.attributes["http.response.status_code"] == 404
    assert missing.status_code == 0, "a 4xx is the client's mistake, not the server's error"

    unmatched = _span(watched, "unmatched-0")
    assert unmatched.name == "GET" and "http.route" not in unmatched.attributes

    away = _span(watched, "away")
    assert away.name == "POST /api/v1/sandbox/social-accounts"
    assert away.attributes["http.response.status_code"] == 503 and away.attributes["error.type"] == "503"
    assert away.status_code == 2
