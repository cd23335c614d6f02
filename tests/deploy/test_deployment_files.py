"""No Docker engine runs here, so the compose file is checked against the code: every service and
platform is deployed, each command parses with the real CLI, and every `CRIER_*` variable it sets is
one the code actually reads. The Kubernetes overlays have their own tests (test_kubernetes.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from crier.cli.services import SERVICES
from crier.contracts.common import PLATFORMS
from crier.kit.metrics_catalog import (
    CATALOG,
    CONSUMER_PENDING,
    DEAD_LETTERS,
    DELIVERIES,
    POSTS_CREATED,
    WEBHOOK_DURATION,
    HistogramSpec,
)
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


OBSERVABILITY = {"jaeger", "prometheus", "grafana"}
DASHBOARD = ROOT / "deploy" / "observability" / "grafana" / "dashboards" / "crier.json"


def _crier_services(compose: dict) -> dict[str, dict]:
    return {
        n: s for n, s in compose["services"].items() if s.get("image") == "crier:latest" and s["command"][0] == "serve"
    }


def test_the_observability_profile_is_optional_pinned_and_its_files_exist(compose: dict) -> None:
    services = compose["services"]
    profiled = {n for n, s in services.items() if s.get("profiles")}
    assert profiled == OBSERVABILITY, "plain `docker compose up` runs Crier alone"
    for name in OBSERVABILITY:
        spec = services[name]
        assert spec["profiles"] == ["observability"]
        _, _, tag = spec["image"].rpartition(":")
        assert tag and tag != "latest" and "/" not in tag, spec["image"]
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"


def test_traces_go_to_the_profiles_otlp_receiver(compose: dict) -> None:
    for name, spec in _crier_services(compose).items():
        env = spec["environment"]
        assert env["CRIER_OTEL_ENDPOINT"] == "http://jaeger:4318/v1/traces", name
        assert env["CRIER_OTEL_EXPORTER"].startswith("${CRIER_OTEL_EXPORTER:-none}"), name
    assert compose["services"]["jaeger"]["environment"]["JAEGER_LISTEN_HOST"] == "0.0.0.0"


def test_prometheus_scrapes_every_service_with_its_service_and_platform(compose: dict) -> None:
    config = yaml.safe_load((ROOT / "deploy" / "observability" / "prometheus.yml").read_text())
    targets = {
        target: group.get("labels", {})
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    expected = {}
    for name, spec in _crier_services(compose).items():
        env = spec["environment"]
        assert env["CRIER_METRICS_HOST"] == "0.0.0.0", name
        labels = {"service": service_of(spec["command"])}
        if labels["service"] == "publisher":
            labels["platform"] = spec["command"][-1]
        expected[f"{name}:{env['CRIER_METRICS_PORT']}"] = labels
    assert targets == expected


def _dashboard_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return {m for e in exprs for m in re.findall(r"\b(crier_[a-z_]+)\b", e)}


def test_the_dashboard_charts_only_metrics_of_the_catalog_and_the_ones_operators_ask_for() -> None:
    histograms = {s.name for s in CATALOG if isinstance(s, HistogramSpec)}
    names = {s.name for s in CATALOG}
    used = set()
    for metric in _dashboard_metrics():
        base = re.sub(r"_(bucket|count|sum)$", "", metric)
        assert metric in names or (base in histograms and base != metric), f"{metric} is not in the catalog"
        used.add(base)
    # Ingest, deliveries per platform, lag, dead letters, webhook latency.
    assert {
        POSTS_CREATED.name,
        DELIVERIES.name,
        CONSUMER_PENDING.name,
        DEAD_LETTERS.name,
        WEBHOOK_DURATION.name,
    } <= used


def test_grafana_is_provisioned_with_the_dashboard_and_its_data_sources(compose: dict) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {target: source for source, target, *_ in (v.split(":") for v in grafana["volumes"])}
    provisioning = ROOT / mounts["/etc/grafana/provisioning"].removeprefix("./")
    sources = yaml.safe_load((provisioning / "datasources" / "datasources.yml").read_text())["datasources"]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())["providers"]
    assert mounts["/var/lib/grafana/dashboards"] == "./" + str(DASHBOARD.parent.relative_to(ROOT))
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p}
    assert uids <= {s["uid"] for s in sources}
    assert any(s["type"] == "jaeger" for s in sources)
