"""deploy/prometheus, deploy/alertmanager and deploy/grafana checked with the real tools:
promtool validates the scrape config and rules and runs the alert unit tests, amtool checks
Alertmanager's routing, and every dashboard query is valid PromQL naming only metrics the
application exports (or the standard exporters it is deployed beside)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import yaml
from fastapi import FastAPI
from prometheus_client import generate_latest

from tests.deploy.conftest import require_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EXPORTER_METRICS = {"up", "pg_replication_lag_seconds", "node_filesystem_avail_bytes",
                    "node_filesystem_size_bytes"}  # fmt: skip
PROMQL_FUNCTIONS_AND_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "clamp_min", "and", "on", "or",
    "vector", "absent", "max", "le", "without", "bool", "time",
}  # fmt: skip
# What the dashboards must show (the issue's list), each by the metric that measures it.
REQUIRED_ON_DASHBOARDS = {
    "request rate, errors": "spatialviz_http_requests_total",
    "latency by route": "spatialviz_http_request_duration_seconds_bucket",
    "jobs by kind and outcome, duration": "spatialviz_job_duration_seconds_bucket",
    "jobs waiting": "spatialviz_jobs_queued",
    "tiling throughput": "spatialviz_tiling_points_total",
    "cache hit ratio": "spatialviz_cache_lookups_total",
    "database pool": "spatialviz_db_pool_checked_out",
    "backup age": "spatialviz_backup_last_success_timestamp_seconds",
}


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_prometheus_config_and_rules_are_valid() -> None:
    promtool = require_tool("promtool", "prometheus")
    result = _run(promtool, "check", "config", "prometheus.yml", cwd=DEPLOY / "prometheus")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rules_fire_on_their_unit_tests() -> None:
    promtool = require_tool("promtool", "prometheus")
    result = _run(promtool, "test", "rules", "alerts_test.yml", cwd=DEPLOY / "prometheus")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((DEPLOY / "prometheus" / "alerts_test.yml").read_text())
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts - tested == set()


def test_alertmanager_config_is_valid() -> None:
    amtool = require_tool("amtool", "prometheus-alertmanager")
    result = _run(amtool, "check-config", "alertmanager.yml", cwd=DEPLOY / "alertmanager")
    assert result.returncode == 0, result.stdout + result.stderr


def _dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "spatialviz-prometheus", panel["title"]
            for target in panel["targets"]:
                queries.append((f"{path.name}: {panel['title']}", target["expr"]))
    return queries


def _as_rule(expr: str) -> str:
    return expr.replace("$__rate_interval", "5m")


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "prometheus")
    queries = _dashboard_queries()
    assert queries
    rules = {
        "groups": [
            {
                "name": "dashboard-queries",
                "rules": [
                    {
                        "record": f"dashboard:query_{i}",
                        "expr": expr.replace("$__rate_interval", "5m"),
                    }
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    result = _run(promtool, "check", "rules", "queries.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _exported_series_names(app: FastAPI) -> set[str]:
    text = generate_latest(app.state.resources.registry).decode()
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE):
        names.add(name)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        names.update(name + suffix for suffix in suffixes.get(kind, []))
    return names


def _names_in(expr: str) -> set[str]:
    without_strings = re.sub(
        r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(by|on|without)\s*\([^)]*\)|\b\d[\d.e+-]*', " ", expr
    )
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_strings))


def test_dashboards_show_everything_the_issue_asks_for() -> None:
    used = set().union(*(_names_in(expr) for _, expr in _dashboard_queries()))
    missing = {what for what, metric in REQUIRED_ON_DASHBOARDS.items() if metric not in used}
    assert missing == set()


async def test_monitoring_names_only_metrics_that_exist(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Middleware (and the fast path's counter) is built on the first request.
    assert (await client.get("/livez")).status_code == 200
    exported = _exported_series_names(app) | EXPORTER_METRICS
    sources = [expr for _, expr in _dashboard_queries()]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    sources += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = set().union(*(_names_in(expr) for expr in sources))
    unknown = {n for n in used - PROMQL_FUNCTIONS_AND_WORDS if not n.isdigit()} - exported
    assert unknown == set()
