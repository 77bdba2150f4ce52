"""Talking to the stack from outside (the root namespace, through nginx over TLS 1.3) and,
for the checks that need it, from inside one of its namespaces."""

from __future__ import annotations

import json
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from spatialviz.stack.layout import (
    ALERTMANAGER_PORT,
    MONITOR,
    POSTGRES_PORT,
    PRIMARY,
    PROMETHEUS_PORT,
    REPLICA,
    public_url,
)
from spatialviz.stack.settings import pg_bin


@dataclass(frozen=True)
class Stack:
    state: Path

    @property
    def ca_file(self) -> Path:
        return self.state / "tls" / "ca.crt"

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=public_url(), verify=self.tls_context(), timeout=timeout)

    def prometheus(self, query: str) -> list[dict[str, Any]]:
        url = f"http://{MONITOR.address('metrics')}:{PROMETHEUS_PORT}/api/v1/query"
        body = in_netns(
            MONITOR.netns, "curl", "-sf", "--get", url, "--data-urlencode", f"query={query}"
        )
        result: list[dict[str, Any]] = json.loads(body)["data"]["result"]
        return result

    def alertmanager_alerts(self) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{ALERTMANAGER_PORT}/api/v2/alerts"
        alerts: list[dict[str, Any]] = json.loads(in_netns(MONITOR.netns, "curl", "-sf", url))
        return alerts

    def sql(self, on: str, query: str) -> str:
        """One value from the primary (``on="primary"``) or the replica, as postgres."""
        host = PRIMARY if on == "primary" else REPLICA
        sockets = self.state / "pg" / f"run-{host.name}"
        return in_netns(
            host.netns, "runuser", "-u", "postgres", "--", str(pg_bin() / "psql"), "-h",
            str(sockets), "-p", str(POSTGRES_PORT), "-U", "postgres", "-d", "spatialviz",
            "-tAq", "-c", query,
        ).strip()  # fmt: skip


def in_netns(namespace: str, *command: str) -> str:
    result = subprocess.run(
        ["ip", "netns", "exec", namespace, *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result.stdout


def tile_uris(tile: dict[str, Any]) -> list[str]:
    uris = [tile["content"]["uri"]] if "content" in tile else []
    for child in tile.get("children", []):
        uris += tile_uris(child)
    return uris
