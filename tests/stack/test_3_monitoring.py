"""Prometheus, inside the stack, scrapes both API servers and both workers; the alert rules
fire in their promtool unit tests."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from spatialviz.stack.layout import API, API_PORT, DEPLOY, WORKER_METRICS_PORT, WORKERS
from tests.stack.client import Stack
from tests.stack.conftest import ReadyScene

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]


def _instances(stack: Stack, query: str) -> set[str]:
    return {sample["metric"]["instance"] for sample in stack.prometheus(query)}


def test_prometheus_scraped_both_api_servers_and_both_workers(
    stack: Stack, scene: ReadyScene
) -> None:
    """The scene fixture has sent traffic through nginx (both API servers serve it, round
    robin) and jobs to the workers. Both APIs' request counters and both workers' samples
    must be in Prometheus: the scrapes read real metrics, not just an open port."""
    apis = {f"{api.address('metrics')}:{API_PORT}" for api in API}
    workers = {f"{w.address('metrics')}:{WORKER_METRICS_PORT}" for w in WORKERS}
    deadline = time.monotonic() + 120
    while True:
        seen = (
            _instances(stack, 'up{job="spatialviz-api"} == 1'),
            _instances(stack, "sum by (instance) (spatialviz_http_requests_total)"),
            _instances(stack, 'up{job="spatialviz-worker"} == 1'),
            _instances(stack, 'count by (instance) ({job="spatialviz-worker", __name__!="up"})'),
        )
        if seen == (apis, apis, workers, workers):
            break
        assert time.monotonic() < deadline, seen
        time.sleep(2)


def test_the_alert_rules_fire_in_their_unit_tests(stack: Stack) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "apt-get install prometheus"
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=DEPLOY / "prometheus",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
