"""No Docker engine runs here, so the compose file and the Kubernetes manifests are checked against
the code: every service and platform is deployed, each command parses with the real CLI, and every
`CRIER_*` variable they set is one the code actually reads."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
import yaml

from crier.cli.main import _parser
from crier.cli.services import SERVICES
from crier.contracts.common import PLATFORMS
from crier.kit.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]


def _settings_fields(service: str) -> set[str]:
    module = importlib.import_module(f"crier.{service}.settings")
    fields = {f"CRIER_{f.name.upper()}" for f in dataclasses.fields(CommonSettings)}
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, CommonSettings) and dataclasses.is_dataclass(value):
            fields |= {f"CRIER_{f.name.upper()}" for f in dataclasses.fields(value)}
    return fields


def _service_of(command: list[str]) -> str | None:
    args = _parser().parse_args(command)
    return args.service if args.command == "serve" else None


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_service_and_one_publisher_per_platform(compose: dict) -> None:
    services = compose["services"]
    assert {"nats", "postgres", "migrate"} <= set(services)
    served = [_service_of(s["command"]) for s in services.values() if s.get("image") == "crier:latest"]
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
        service = _service_of(spec["command"])
        known = _settings_fields(service) if service else _settings_fields("connect")
        env = spec.get("environment", {})
        assert "CRIER_DATABASE_URL" in env and "CRIER_NATS_URL" in env, name
        unknown = {k for k in env if k.startswith("CRIER_")} - known
        assert not unknown, f"{name} sets variables no code reads: {unknown}"


def test_kubernetes_manifests_match_the_code() -> None:
    docs = [d for f in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "crier-config")
    secret = next(d for d in docs if d["kind"] == "Secret")
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    served, platforms = set(), set()
    for d in deployments:
        container = d["spec"]["template"]["spec"]["containers"][0]
        service = _service_of(container["args"])
        served.add(service)
        if service == "publisher":
            platforms.add(container["args"][-1])
        env_names = {e["name"] for e in container.get("env") or []}
        assert assert_known(service, env_names | set(config["data"]) | set(secret["stringData"]))
    assert set(SERVICES) <= served
    assert platforms == set(PLATFORMS)


def assert_known(service: str, names: set[str]) -> bool:
    unknown = {n for n in names if n.startswith("CRIER_")} - _settings_fields(service)
    assert not unknown, f"{service}: unknown variables {unknown}"
    return True
