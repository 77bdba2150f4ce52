"""deploy/compose.yaml holds what the operations docs rely on. No Docker engine runs here, so
the file is checked for its structure: every file it mounts exists in the repository,
long-running services have healthchecks and restart policies, the API waits for the
migration, and no secret is written in it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ONE_SHOT = {"migrate"}
GENERATED_MOUNTS = {"./nginx/certs"}  # made by deploy/make-dev-certs.sh, git-ignored


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def test_long_running_services_have_healthchecks_and_restart_policies() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            continue
        assert service.get("restart") in {"unless-stopped", "always", "on-failure"}, name
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_api_and_workers_start_after_the_migration() -> None:
    services = _compose()["services"]
    for name in ("api", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_workers_expose_the_port_prometheus_scrapes() -> None:
    worker = _compose()["services"]["worker"]["command"]
    port = worker[worker.index("--metrics-port") + 1]
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in scrape["scrape_configs"]
        if job["job_name"] == "spatialviz-worker"
        for config in job["static_configs"]
        for target in config["targets"]
    }
    assert targets == {f"worker:{port}"}


def test_every_scrape_target_is_a_compose_service() -> None:
    """prometheus.yml names its targets by compose service: a target with no service
    behind it is an alert that can never fire (the exporters were missing once)."""
    services = _compose()["services"]
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    hosts = {
        target.split(":", 1)[0]
        for job in scrape["scrape_configs"]
        for config in job.get("static_configs", [])
        for target in config["targets"]
    }
    assert hosts, "the check found no scrape targets"
    assert hosts <= set(services), sorted(hosts - set(services))


def test_every_mounted_file_exists() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("./") or source in GENERATED_MOUNTS:
                continue
            assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"


def test_no_secret_is_written_in_the_file() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    secret_settings = re.findall(
        r"^\s*(\w*(?:SECRET|PASSWORD|PASS)\w*):\s*(.+)$", text, flags=re.MULTILINE
    )
    assert secret_settings, "the check found no secret settings to look at"
    for name, value in secret_settings:
        assert value.startswith("${"), f"{name} is not taken from the environment"
        assert ":?" in value, f"{name} has a default instead of refusing to start without one"
    written_passwords = re.findall(r"://[^/\s:@]+:(?!\$\{)[^@\s/]+@", text)
    assert written_passwords == []
