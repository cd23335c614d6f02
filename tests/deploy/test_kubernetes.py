"""The Kustomize overlays, rendered by `kubectl kustomize` and validated offline against the
Kubernetes schemas (kubernetes-validate), then checked against the code: every service and platform
is deployed with probes on its operations port, resources and the wait for migrations; secrets are
referenced, never defined; one image, never `:latest`; KEDA scales on the consumer the publisher
really reads."""

from __future__ import annotations

import copy
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from crier.cli.main import _parser
from crier.cli.services import SERVICES
from crier.contracts.common import PLATFORMS
from crier.gateway.settings import GatewaySettings
from crier.kit.settings import load
from tests.deploy.known_settings import service_of, unknown_variables

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
KUBERNETES = "1.37.0"
# Custom resources: their schemas are not Kubernetes' own, so kubernetes-validate has none. Their
# structure is checked by the tests below that read them (test_keda_…, test_the_pod_monitor_…).
CUSTOM_KINDS = {"ScaledObject", "PodMonitor"}
SECRETS = {"crier-secrets", "crier-platform-apps", "crier-media-store"}

Docs = list[dict]


def _render(overlay: str) -> Docs:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed here, and it renders the overlays (`kubectl kustomize`)")
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module")
def rendered() -> dict[str, Docs]:
    return {overlay: _render(overlay) for overlay in OVERLAYS}


def _of(docs: Docs, kind: str) -> Docs:
    return [d for d in docs if d["kind"] == kind]


def _pods(docs: Docs) -> list[dict]:
    return [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]


def _config(docs: Docs) -> dict[str, str]:
    return next(d for d in _of(docs, "ConfigMap") if d["metadata"]["name"] == "crier-config")["data"]


def _crier(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_the_overlays_are_the_documented_ones() -> None:
    assert {"single-node", "production", "keda"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_validates_against_the_kubernetes_schemas(rendered: dict[str, Docs], overlay: str) -> None:
    for doc in rendered[overlay]:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_the_validation_is_not_vacuous(rendered: dict[str, Docs]) -> None:
    deployment = copy.deepcopy(_of(rendered["production"], "Deployment")[0])
    _crier(deployment)["readinessProbe"]["httpGet"]["prot"] = "metrics"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_pinned_image_and_no_secret_defined(rendered: dict[str, Docs], overlay: str) -> None:
    docs = rendered[overlay]
    images = {c["image"] for pod in _pods(docs) for c in [*pod["containers"], *pod.get("initContainers", [])]}
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest" and "/" not in tag, image
    crier_images = {i for i in images if not i.startswith("nats:")}
    assert len(crier_images) == 1, crier_images
    assert not _of(docs, "Secret"), "a Secret in the manifests would overwrite the real one on every apply"
    referenced = {
        ref["secretRef"]["name"]
        for pod in _pods(docs)
        for c in [*pod["containers"], *pod.get("initContainers", [])]
        for ref in c.get("envFrom", [])
        if "secretRef" in ref
    }
    assert referenced == SECRETS
    readme = (K8S / "README.md").read_text()
    for name in referenced:
        assert f"create secret generic {name}" in readme, f"README.md does not say how to create {name}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_probed_sized_drained_and_waits_for_migrations(
    rendered: dict[str, Docs], overlay: str
) -> None:
    docs = rendered[overlay]
    metrics_port = int(_config(docs)["CRIER_METRICS_PORT"])
    for deployment in _of(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        container = _crier(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == metrics_port, name
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, name
        assert container["startupProbe"]["httpGet"]["port"] == "metrics", name
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"], name
        delay = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert 0 < delay < pod["terminationGracePeriodSeconds"] - 10, name
        migrations = pod["initContainers"][0]
        assert migrations["args"] == ["migrate"] and migrations["image"] == container["image"], name
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(metrics_port), name
    job = next(j for j in _of(docs, "Job") if j["metadata"]["name"] == "crier-migrate")
    assert _parser().parse_args(job["spec"]["template"]["spec"]["containers"][0]["args"]).command == "migrate"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_and_one_publisher_per_platform_each_with_a_disruption_budget(
    rendered: dict[str, Docs], overlay: str
) -> None:
    docs = rendered[overlay]
    deployments = _of(docs, "Deployment")
    served = {service_of(_crier(d)["args"]) for d in deployments}
    assert set(SERVICES) == served
    platforms = [_crier(d)["args"][-1] for d in deployments if service_of(_crier(d)["args"]) == "publisher"]
    assert sorted(platforms) == sorted(PLATFORMS), "one publisher Deployment per platform, no more"
    budgets = _of(docs, "PodDisruptionBudget")
    for d in deployments:
        labels = d["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == 1, d["metadata"]["name"]
        # Other Deployments' pods must not count towards this budget.
        others = [o for o in deployments if o is not d]
        selector = covering[0]["spec"]["selector"]["matchLabels"].items()
        assert not [o for o in others if selector <= o["spec"]["template"]["metadata"]["labels"].items()]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_set_is_read_by_the_code(rendered: dict[str, Docs], overlay: str) -> None:
    docs = rendered[overlay]
    shared = set(_config(docs))
    for d in _of(docs, "Deployment"):
        service = service_of(_crier(d)["args"])
        assert service is not None
        own = {e["name"] for e in _crier(d).get("env", [])}
        assert not unknown_variables(service, shared | own), d["metadata"]["name"]


def test_the_gateways_readiness_asks_no_other_service(rendered: dict[str, Docs]) -> None:
    for overlay, docs in rendered.items():
        gateway = next(d for d in _of(docs, "Deployment") if d["metadata"]["name"] == "crier-gateway")
        env = {e["name"]: e["value"] for e in _crier(gateway)["env"]}
        # Its API-port /readyz too: what the real settings loader makes of the manifest's value.
        assert load(GatewaySettings, env).required_services == (), overlay
        assert _crier(gateway)["readinessProbe"]["httpGet"]["port"] == "metrics"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nats_is_a_jetstream_cluster_sized_like_the_stream_replicas(rendered: dict[str, Docs], overlay: str) -> None:
    docs = rendered[overlay]
    nats = next(s for s in _of(docs, "StatefulSet") if s["metadata"]["name"] == "crier-nats")
    replicas = nats["spec"]["replicas"]
    conf = next(c for c in _of(docs, "ConfigMap") if c["metadata"]["name"] == "crier-nats-config")["data"]["nats.conf"]
    assert "jetstream" in conf
    routes = re.findall(r"nats://crier-nats-(\d+)\.crier-nats-cluster:6222", conf)
    assert sorted(map(int, routes)) == list(range(replicas if replicas > 1 else 0))
    assert int(_config(docs)["CRIER_NATS_REPLICAS"]) == replicas
    assert replicas in (1, 3)


def test_keda_scales_each_publisher_on_every_consumer_it_reads(rendered: dict[str, Docs]) -> None:
    from crier.publisher.entrypoints import consumers

    docs = rendered["keda"]
    publishers = {
        _crier(d)["args"][-1]: d for d in _of(docs, "Deployment") if service_of(_crier(d)["args"]) == "publisher"
    }
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in _of(docs, "ScaledObject")}
    assert set(scaled) == {d["metadata"]["name"] for d in publishers.values()}
    headless = next(s for s in _of(docs, "Service") if s["metadata"]["name"] == "crier-nats-cluster")
    assert 8222 in {p["port"] for p in headless["spec"]["ports"]} and headless["spec"]["clusterIP"] == "None"
    for platform, deployment in publishers.items():
        assert "replicas" not in deployment["spec"], "KEDA owns the replicas; applying must not reset them"
        obj = scaled[deployment["metadata"]["name"]]
        assert 1 <= obj["spec"]["minReplicaCount"] < obj["spec"]["maxReplicaCount"]
        # The durables the publisher binds, from its own code (a lane added there and not here
        # would never scale anything).
        read = set(consumers.durables(platform))
        triggers = obj["spec"]["triggers"]
        assert {t["metadata"]["consumer"] for t in triggers} == read, "run deploy/k8s/components/keda/generate.py"
        for trigger in triggers:
            meta = trigger["metadata"]
            assert trigger["type"] == "nats-jetstream" and meta["stream"] == "PUBLISH"
            host, _, port = meta["natsServerMonitoringEndpoint"].partition(":")
            assert host.split(".")[:2] == ["crier-nats-cluster", "crier"] and port == "8222"
            assert int(meta["lagThreshold"]) > 0


def test_the_keda_component_is_what_its_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("keda_generate", K8S / "components" / "keda" / "generate.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert (K8S / "components" / "keda" / "scaled-objects.yaml").read_text() == generator.render()


def test_the_pod_monitor_scrapes_the_operations_port_with_service_and_platform(rendered: dict[str, Docs]) -> None:
    docs = rendered["production"]
    (monitor,) = _of(docs, "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selector = monitor["spec"]["selector"]["matchLabels"].items()
    selected = [d for d in _of(docs, "Deployment") if selector <= d["spec"]["template"]["metadata"]["labels"].items()]
    assert len(selected) == len(_of(docs, "Deployment"))
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert {r["targetLabel"] for r in endpoint["relabelings"]} == {"service", "platform"}
