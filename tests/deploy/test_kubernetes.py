"""deploy/k8s: the production overlay is built with kustomize (kubectl's) and every object
is validated against the Kubernetes API schema of a pinned version (kubernetes-validate,
offline, strict). Then the rules operations rely on: every pod runs non-root on a read-only
root filesystem with probes and limits, every Deployment has a disruption budget, traffic
is denied unless a NetworkPolicy lets it in, and the Ingress terminates TLS."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import require_tool

OVERLAY = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "overlays" / "production"
KUBERNETES_VERSION = "1.30.0"

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    kubectl = require_tool("kubectl", "kubectl")
    built = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr
    documents = [doc for doc in yaml.safe_load_all(built.stdout) if doc]
    assert documents
    return documents


def _of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def _pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for m in manifests:
        if m["kind"] in {"Deployment", "Job"}:
            yield m["metadata"]["name"], m["spec"]["template"]["spec"]


def test_every_object_is_valid_for_the_pinned_kubernetes(manifests: list[Manifest]) -> None:
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_everything_lands_in_the_production_namespace(manifests: list[Manifest]) -> None:
    for m in manifests:
        if m["kind"] != "Namespace":
            assert m["metadata"]["namespace"] == "spatialviz", m["metadata"]["name"]


def test_pods_run_non_root_read_only_with_probes_and_limits(manifests: list[Manifest]) -> None:
    for name, pod in _pod_specs(manifests):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["serviceAccountName"] == "spatialviz", name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            limits = container["resources"]["limits"]
            assert {"cpu", "memory"} <= set(limits), name
            assert container["image"].startswith("registry.example.com/spatialviz:"), name
            if name != "spatialviz-migrate":
                assert "livenessProbe" in container, name
                assert "startupProbe" in container, name


def test_api_readiness_and_worker_liveness(manifests: list[Manifest]) -> None:
    pods = dict(_pod_specs(manifests))
    api = pods["spatialviz-api"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for worker in ("spatialviz-worker-heavy", "spatialviz-worker-light"):
        container = pods[worker]["containers"][0]
        port = container["command"][container["command"].index("--metrics-port") + 1]
        assert container["ports"][0]["containerPort"] == int(port)


def test_every_deployment_has_a_disruption_budget(manifests: list[Manifest]) -> None:
    budgets = {
        tuple(sorted(pdb["spec"]["selector"]["matchLabels"].items()))
        for pdb in _of_kind(manifests, "PodDisruptionBudget")
    }
    for deployment in _of_kind(manifests, "Deployment"):
        labels = tuple(sorted(deployment["spec"]["selector"]["matchLabels"].items()))
        assert labels in budgets, deployment["metadata"]["name"]


def test_network_is_denied_unless_allowed(manifests: list[Manifest]) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in _of_kind(manifests, "NetworkPolicy")}
    deny = policies["spatialviz-default-deny"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    worker_ingress = [
        spec
        for spec in policies.values()
        if spec["podSelector"].get("matchLabels", {}).get("spatialviz/tier") == "worker"
    ]
    assert [port["port"] for spec in worker_ingress for rule in spec["ingress"]
            for port in rule["ports"]] == [9808]  # fmt: skip
    egress_ports = {
        port["port"]
        for spec in policies.values()
        for rule in spec.get("egress", [])
        for port in rule["ports"]
    }
    assert egress_ports == {53, 5432, 6379, 5672, 443}


def test_ingress_terminates_tls_and_api_autoscales(manifests: list[Manifest]) -> None:
    (ingress,) = _of_kind(manifests, "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] == "spatialviz-tls"
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    (hpa,) = _of_kind(manifests, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "spatialviz-api"
    assert hpa["spec"]["minReplicas"] >= 2
