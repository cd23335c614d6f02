"""No Docker engine runs here, so the compose file is checked against the code: every service and
platform is deployed, each command parses with the real CLI, and every `CRIER_*` variable it sets is
one the code actually reads. The Kubernetes overlays have their own tests (test_kubernetes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crier.cli.services import SERVICES
from crier.contracts.common import PLATFORMS
from tests.deploy.known_settings import service_of, settings_fields

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_service_and_one_publisher_per_platform(compose: dict) -> None:
    services = compose["services"]
    assert {"nats", "postgres", "migrate"} <= set(services)
    served = [service_of(s["command"]) for s in services.values() if s.get("image") == "crier:latest"]
    assert set(SERVICES) <= set(served)
    platforms = {
        s["command"][-1] for s in services.values() if s.get("command", [None, None])[:2] == ["serve", "publisher"]
    }
    assert platforms == set(PLATFORMS)
    assert "-js" in services["nats"]["command"]


def test_compose_variables_are_read_by_the_code(compose: dict) -> None:
    for name, spec in compose["services"].items():
        if spec.get("image") != "crier:latest":
            continue
        service = service_of(spec["command"])
        known = settings_fields(service) if service else settings_fields("connect")
        env = spec.get("environment", {})
        assert "CRIER_DATABASE_URL" in env and "CRIER_NATS_URL" in env, name
        unknown = {k for k in env if k.startswith("CRIER_")} - known
        assert not unknown, f"{name} sets variables no code reads: {unknown}"
