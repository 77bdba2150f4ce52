"""Figures measured on `make stack`: requests per second through nginx (TLS 1.3, both API
servers) for signed tile GETs and for an API call, and the replica's lag while a large LAS
is uploaded, ingested and tiled. The peer, side by side in the same run: the same API call
sent straight to one API server from nginx's namespace (no TLS, no proxy), so the ratio
shows what the edge costs or adds.

    make stack            # then, as root:
    .venv/bin/python bench/stack_load.py --points 1000000 --duration 15

wrk (Debian's package) drives the load; the stack must be up. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from inputs import add_generator_argument, describe_input, ensure_cloud
from spatialviz.stack import netns
from spatialviz.stack.layout import (
    API,
    API_PORT,
    EDGE,
    POSTGRES_PORT,
    PRIMARY,
    public_url,
    state_dir,
)
from spatialviz.stack.settings import pg_bin

PASSWORD = secrets.token_urlsafe(16)  # a throwaway account per run
LAG_SQL = (
    "SELECT coalesce(max(extract(epoch FROM replay_lag)), 0), "
    "coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) FROM pg_stat_replication"
)


class LagSampler(threading.Thread):
    """Samples the primary's view of the replica (pg_stat_replication) every half second."""

    def __init__(self, state: Path) -> None:
        super().__init__(daemon=True)
        self.state = state
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        sockets = self.state / "pg" / f"run-{PRIMARY.name}"
        command = ["ip", "netns", "exec", PRIMARY.netns, "runuser", "-u", "postgres", "--",
                   str(pg_bin() / "psql"), "-h", str(sockets), "-p", str(POSTGRES_PORT),
                   "-U", "postgres", "-tA", "-F", " ", "-c", LAG_SQL]  # fmt: skip
        while not self.stop.wait(0.5):
            out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
            if out.strip():
                seconds, behind = out.split()
                self.samples.append((float(seconds), float(behind)))

    def summary(self) -> dict[str, Any]:
        lags = sorted(s for s, _ in self.samples)
        behind = sorted(b for _, b in self.samples)
        return {
            "samples": len(self.samples),
            "replay_lag_seconds_max": lags[-1] if lags else None,
            "replay_lag_seconds_p50": lags[len(lags) // 2] if lags else None,
            "bytes_behind_max": int(behind[-1]) if behind else None,
        }


def _tenant(client: httpx.Client) -> dict[str, str]:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    registered = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    registered.raise_for_status()
    token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    token.raise_for_status()
    return {
        "workspace_id": str(registered.json()["personal_workspace_id"]),
        "authorization": f"Bearer {token.json()['access_token']}",
    }


def _wait(client: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    while True:
        body: dict[str, Any] = client.get(url, headers=headers).json()
        if body["status"] in {"ready", "failed"}:
            return body
        time.sleep(0.5)


def _upload_and_tile(client: httpx.Client, las: Path, tenant: dict[str, str]) -> dict[str, Any]:
    headers = {"Authorization": tenant["authorization"]}
    began = time.monotonic()
    with las.open("rb") as body:
        uploaded = client.post(
            "/api/v1/datasets",
            params={"workspace_id": tenant["workspace_id"], "filename": las.name},
            content=body,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
    uploaded.raise_for_status()
    upload_seconds = time.monotonic() - began
    dataset_id = uploaded.json()["dataset"]["id"]
    dataset = _wait(client, f"/api/v1/datasets/{dataset_id}", headers)
    assert dataset["status"] == "ready", dataset
    created = client.post("/api/v1/scenes", json={"dataset_id": dataset_id}, headers=headers)
    created.raise_for_status()
    scene = _wait(client, f"/api/v1/scenes/{created.json()['scene']['id']}", headers)
    assert scene["status"] == "ready", scene
    return {**scene, "upload_seconds": round(upload_seconds, 2),
            "upload_to_ready_seconds": round(time.monotonic() - began, 2)}  # fmt: skip


def _tile_paths(client: httpx.Client, scene: dict[str, Any]) -> list[str]:
    tileset = client.get(scene["tileset_url"]).json()
    sig = scene["tileset_url"].split("?sig=", 1)[1]
    paths, stack = [], [tileset["root"]]
    while stack:
        tile = stack.pop()
        if "content" in tile:
            paths.append(f"/api/v1/scenes/{scene['id']}/{tile['content']['uri']}?sig={sig}")
        stack.extend(tile.get("children", []))
    return paths


def _wrk(
    url: str, paths: list[str], headers: dict[str, str], duration: int, connections: int,
    namespace: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """wrk cycling over ``paths``; requests/s, latency and non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
        script.write(
            header_lines
            + "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
            + "i = 0\nrequest = function()\n  i = i % #paths + 1\n"
            + "  return wrk.format(nil, paths[i])\nend\n"
        )  # fmt: skip
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
               "--latency", "-s", script.name, url]  # fmt: skip
    if namespace is not None:
        command = ["ip", "netns", "exec", namespace, *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "latency_p50": re.search(r"50%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "latency_p99": re.search(r"99%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
        "connections": connections,
        "seconds": duration,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    add_generator_argument(parser)
    args = parser.parse_args()
    if not netns.existing():
        raise SystemExit("the stack is not up: run `make stack` first")
    state = state_dir()
    las = ensure_cloud(args.points, args.generator)
    verify = str(state / "tls" / "ca.crt")
    with httpx.Client(base_url=public_url(), verify=verify, timeout=900) as client:
        tenant = _tenant(client)
        sampler = LagSampler(state)
        sampler.start()
        scene = _upload_and_tile(client, las, tenant)
        sampler.stop.set()
        sampler.join()
        tiles = _tile_paths(client, scene)
    auth = {"Authorization": tenant["authorization"]}
    api_paths = [f"/api/v1/scenes/{scene['id']}"]
    direct = f"http://{API[0].address('front')}:{API_PORT}"
    report = {
        "input": describe_input(args.points, args.generator),
        "stack": "make stack: nginx (TLS 1.3) -> 2 API servers x 2 Gunicorn workers",
        "upload_seconds": scene["upload_seconds"],
        "upload_to_ready_seconds": scene["upload_to_ready_seconds"],
        "replica_lag_during_upload_ingest_tiling": sampler.summary(),
        "tile_gets_through_nginx": _wrk(public_url(), tiles, {}, args.duration, args.connections),
        "api_call_through_nginx": _wrk(
            public_url(), api_paths, auth, args.duration, args.connections
        ),
        "api_call_direct_to_one_api_server": _wrk(
            direct, api_paths, auth, args.duration, args.connections, namespace=EDGE.netns
        ),
        "tiles": len(tiles),
        # The machine is shared: its load says how much of it these figures had.
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
    }
    through = report["api_call_through_nginx"]["requests_per_second"]
    alone = report["api_call_direct_to_one_api_server"]["requests_per_second"]
    report["api_call_ratio_nginx_two_servers_vs_one_server_direct"] = round(through / alone, 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
