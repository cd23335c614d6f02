"""A one-platform publisher as a process, scraped: its deliveries by outcome with their durations,
its attempts and dead letters by error code, the lag of every consumer it reads, and delivery log
lines that name the post, the target, the platform and the trace they belong to."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crier.contracts.commands import PublishTarget, command_subject
from crier.kit.embedded import free_port
from tests.publisher.factories import command
from tests.support.stack import Infra, Services, start_services, wait_for

# Labels of one sample, as a sorted tuple of pairs, to its value.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Sent:
    cmd: PublishTarget
    trace_id: str


@dataclass
class Publisher:
    services: Services
    port: int
    published: Sent
    rejected: Sent
    dead: Sent

    def scrape(self) -> Samples | None:
        try:
            text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return None
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def _send(services: Services, cmd: PublishTarget) -> str:
    """The command on the lane the scheduler would use, in a trace of its own; its trace id."""
    trace_id = secrets.token_hex(16)
    headers = {"Nats-Msg-Id": cmd.target_id, "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    async with services.bus() as bus:
        await bus.js.publish(bus.subject(command_subject(cmd)), msgspec.json.encode(cmd), headers=headers)
    return trace_id


@pytest.fixture(scope="module")
def publisher(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Publisher]:
    from crier.cli.services import migrations_dir
    from crier.kit.migrations import upgrade

    port = free_port()
    services = start_services(infra, tmp_path_factory.mktemp("publisher-metrics"), [])
    upgrade(migrations_dir("publisher"), services.database_url)
    # Two attempts: the target that always fails is retried once, then dead-lettered.
    env = {"CRIER_METRICS_PORT": str(port), "CRIER_PUBLISHER_MAX_ATTEMPTS": "2"}
    services.supervisor.add("publisher-x", ["publisher", "--platform", "x"], env).start()
    try:
        wait_for(
            lambda: (r := _get(port, "/readyz")) is not None and r.status_code == 200,
            timeout=60,
            what=f"the publisher ready:\n{services.logs()}",
        )
        sent = [command(content) for content in ("hello", "[sandbox:reject]", "[sandbox:fail]")]
        traces = [asyncio.run(_send(services, cmd)) for cmd in sent]
        yield Publisher(services, port, *(Sent(c, t) for c, t in zip(sent, traces, strict=True)))
    finally:
        services.supervisor.stop_all()


def _get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


def _settled(publisher: Publisher) -> Samples | None:
    samples = publisher.scrape()
    if samples is None:
        return None
    ended = [
        _value(samples, "crier_deliveries_total", platform="x", outcome=o) for o in ("published", "failed", "dead")
    ]
    return samples if all(ended) else None


def test_deliveries_attempts_and_dead_letters_are_counted_by_platform(publisher: Publisher) -> None:
    samples = wait_for(lambda: _settled(publisher), timeout=60, what="three targets delivered to their end")

    def deliveries(outcome: str) -> tuple[float | None, float | None]:
        labels = {"platform": "x", "outcome": outcome}
        return (
            _value(samples, "crier_deliveries_total", **labels),
            _value(samples, "crier_delivery_duration_seconds_count", **labels),
        )

    # One published, one rejected for good, and one failed twice: retried, then dead.
    assert {o: deliveries(o) for o in ("published", "failed", "retried", "dead", "canceled")} == {
        "published": (1, 1),
        "failed": (1, 1),
        "retried": (1, 1),
        "dead": (1, 1),
        "canceled": (None, None),
    }
    attempts = {
        dict(labels)["error_code"]: value
        for (name, labels), value in samples.items()
        if name == "crier_delivery_attempts_total" and dict(labels)["platform"] == "x"
    }
    assert attempts == {"none": 1, "content_rejected": 1, "platform_unavailable": 2}
    assert _value(samples, "crier_dead_letters_total", platform="x", error_code="platform_unavailable") == 1
    assert _value(samples, "crier_dead_letters_total", platform="x", error_code="content_rejected") is None


def test_every_lane_consumer_reports_its_lag(publisher: Publisher) -> None:
    from crier.publisher.entrypoints.consumers import CANCELLATIONS, durables

    samples = wait_for(lambda: _settled(publisher), timeout=60, what="three targets delivered to their end")
    lanes = durables("x")
    assert "publisher-x" in lanes and "publisher-x-due-0" in lanes and "publisher-x-now-7" in lanes
    for gauge in ("crier_consumer_pending_messages", "crier_consumer_ack_pending_messages"):
        # Everything was delivered: nothing waits on any lane, nothing is held unacknowledged.
        read = {c: _value(samples, gauge, stream="PUBLISH", consumer=c) for c in lanes}
        assert read == dict.fromkeys(lanes, 0.0), gauge
        assert _value(samples, gauge, stream="EVENTS", consumer=CANCELLATIONS) == 0


def test_delivery_log_lines_name_the_target_and_its_trace(publisher: Publisher) -> None:
    wait_for(lambda: _settled(publisher), timeout=60, what="three targets delivered to their end")
    log = publisher.services.log_dir / "publisher-x.log"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    for sent, event in (
        (publisher.published, "publisher.target_published"),
        (publisher.rejected, "publisher.attempt_failed"),
        (publisher.dead, "publisher.attempt_failed"),
    ):
        said = [line for line in lines if line["event"] == event and line.get("target_id") == sent.cmd.target_id]
        assert said, f"no {event} line for {sent.cmd.target_id}"
        for line in said:
            assert (line["post_id"], line["platform"], line["trace_id"]) == (sent.cmd.post_id, "x", sent.trace_id)
