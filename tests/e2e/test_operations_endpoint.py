"""Every service process serves its operations endpoint on CRIER_METRICS_PORT: Prometheus metrics
naming the process, a liveness answer, and a readiness that asks its own dependencies only."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from crier.kit.embedded import free_port
from tests.support.stack import Infra, Services, start_services, wait_for


@pytest.fixture(scope="module")
def services(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, int, int]]:
    scheduler_port, publisher_port = free_port(), free_port()
    services = start_services(
        infra, tmp_path_factory.mktemp("operations"), ["scheduler"], {"CRIER_METRICS_PORT": str(scheduler_port)}
    )
    publisher = services.supervisor.add(
        "publisher-x", ["publisher", "--platform", "x"], {"CRIER_METRICS_PORT": str(publisher_port)}
    )
    publisher.start()
    yield services, scheduler_port, publisher_port
    services.supervisor.stop_all()


def _get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


def test_each_process_names_itself_in_its_metrics(services: tuple[Services, int, int]) -> None:
    _, scheduler_port, publisher_port = services
    for port, name in ((scheduler_port, "crier-scheduler"), (publisher_port, "crier-publisher-x")):
        metrics = wait_for(lambda p=port: _get(p, "/metrics"), timeout=60, what=f"{name}'s /metrics")
        assert metrics.status_code == 200
        assert f'service_name="{name}"' in metrics.text
        assert "process_resident_memory_bytes" in metrics.text


def test_liveness_and_readiness_on_the_operations_port(services: tuple[Services, int, int]) -> None:
    _, scheduler_port, _ = services
    ready = wait_for(
        lambda: (r := _get(scheduler_port, "/readyz")) is not None and r.status_code == 200 and r,
        timeout=60,
        what="the scheduler ready on its operations port",
    )
    assert ready.json()["checks"] == {"started": True, "database": True, "nats": True}
    health = _get(scheduler_port, "/healthz")
    assert health is not None and health.status_code == 200
    missing = _get(scheduler_port, "/nothing-here")
    assert missing is not None and missing.status_code == 404
