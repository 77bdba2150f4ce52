"""Tile serving: the Python tile route and the X-Accel path vs. nginx serving the file.

In one run, against real processes on 127.0.0.1:

1. a ``spatialviz serve`` process (one uvicorn process, embedded mode, temp ``var/``) is given
   a LiDAR LAS, ingests and tiles it; one tile of median size is picked;
2. ``wrk`` loads the same tile through three paths:

   - ``python``: the tile route with the signed URL (``?sig=``), bytes streamed by Python;
   - ``nginx``: nginx serving the tile file statically from the storage directory (the peer);
   - ``xaccel``: nginx in front of a second API process started with
     ``SPATIALVIZ_X_ACCEL_PREFIX=/_blobs/``: the API checks the signature and answers with
     ``X-Accel-Redirect``; nginx sends the bytes from an internal alias location.

Prints JSON with requests/s and latency percentiles of each, and the ratios python/nginx and
xaccel/nginx (goals from issue 7: >= 0.3 and >= 0.8). nginx runs with its own config and
prefix as a non-daemon child process; everything is stopped at the end.

    PYTHONPATH=src python -m bench.serve --points 500000 --duration 10
"""

from __future__ import annotations

import argparse
import getpass
import grp
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from spatialviz.demo.generate import write_lidar_las

HOST = "127.0.0.1"
PASSWORD = secrets.token_urlsafe(24)  # a throwaway user in a throwaway var dir
GOALS = {"python_vs_nginx": 0.3, "xaccel_vs_nginx": 0.8}
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Tile:
    scene_id: str
    sig: str
    path: str  # relative to the scene's tiles/ directory
    key: str  # storage key
    size: int
    count: int  # GLB tiles in the scene


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {HOST}:{port} after {within}s")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def spatialviz(
    args: list[str], env: dict[str, str], log: Path, *, check: bool = False
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "spatialviz", *args]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if check and proc.wait(timeout=120) != 0:
        raise RuntimeError(f"{' '.join(args)} failed; see {log}")
    return proc


def api_env(var_dir: Path, log_level: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPATIALVIZ_")}
    env["SPATIALVIZ_VAR_DIR"] = str(var_dir)
    # nginx runs with access_log off; WARNING turns the API's per-request access line off
    # too, so neither side pays for logging the other does not do.
    env["SPATIALVIZ_LOG_LEVEL"] = log_level
    env.update(extra)
    return env


# --- the scene -----------------------------------------------------------------------------


def poll(client: httpx.Client, url: str, headers: dict[str, str], within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        response = client.get(url, headers=headers)
        response.raise_for_status()
        body = response.json()
        if body["status"] in ("ready", "failed"):
            if body["status"] == "failed":
                raise RuntimeError(f"{url} failed: {body}")
            return body
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} still {body['status']} after {within}s")
        time.sleep(0.2)


def prepare_scene(base_url: str, las: Path, storage: Path) -> Tile:
    """Register, sign in, upload the LAS, tile it, and pick a tile of median size."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        email = f"bench-{int(time.time())}@example.com"
        r = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        r.raise_for_status()
        workspace_id = r.json()["personal_workspace_id"]
        r = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = client.post(
            "/api/v1/datasets",
            params={"workspace_id": workspace_id, "filename": las.name},
            content=las.read_bytes(),
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        r.raise_for_status()
        dataset = poll(client, f"/api/v1/datasets/{r.json()['dataset']['id']}", headers, 600)
        r = client.post("/api/v1/scenes", json={"dataset_id": dataset["id"]}, headers=headers)
        r.raise_for_status()
        scene = poll(client, f"/api/v1/scenes/{r.json()['scene']['id']}", headers, 600)
        sig = httpx.URL(scene["tileset_url"]).params["sig"]
        r = client.get(scene["tileset_url"])
        r.raise_for_status()
        uris = sorted(set(content_uris(r.json()["root"])))
    glbs = [u.removeprefix("tiles/") for u in uris if u.endswith(".glb")]
    if not glbs:
        raise RuntimeError(f"no GLB tiles in the tileset: {uris[:5]}")
    tilesets = list(storage.rglob("tileset.json"))
    if len(tilesets) != 1:
        raise RuntimeError(f"expected one tileset in {storage}, found {len(tilesets)}")
    tiles_dir = tilesets[0].parent / "tiles"
    sizes = {p: (tiles_dir / p).stat().st_size for p in glbs}
    median = statistics.median_low(sizes.values())
    path = next(p for p, s in sorted(sizes.items()) if s == median)
    key = str((tiles_dir / path).relative_to(storage))
    return Tile(scene["id"], sig, path, key, median, len(glbs))


def content_uris(tile: dict[str, Any]) -> Iterator[str]:
    content = tile.get("content")
    if content is not None:
        yield content["uri"]
    for child in tile.get("children", []):
        yield from content_uris(child)


# --- nginx ---------------------------------------------------------------------------------


def nginx_conf(prefix: Path, storage: Path, static_port: int, proxy_port: int, api_port: int,
               workers: int) -> str:  # fmt: skip
    # Workers of a root master switch to "nobody", who cannot read a 0700 temp dir.
    user = (
        f"user {getpass.getuser()} {grp.getgrgid(os.getgid()).gr_name};"
        if os.geteuid() == 0
        else ""
    )
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes {workers};
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    types {{ model/gltf-binary glb; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
{temp}
    # As deploy/nginx/spatialviz.conf: kept-alive connections to the API.
    upstream spatialviz_api {{
        server {HOST}:{api_port};
        keepalive 64;
        keepalive_requests 10000;
    }}

    server {{  # the peer: the tile file, straight from the storage directory
        listen {HOST}:{static_port};
        location /storage/ {{
            alias {storage}/;
            add_header Cache-Control "public, max-age=31536000, immutable";
            etag on;
        }}
    }}

    server {{  # the X-Accel path: the API checks access, nginx sends the bytes
        listen {HOST}:{proxy_port};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Connection "";
        location / {{ proxy_pass http://spatialviz_api; }}
        location /_blobs/ {{
            internal;
            alias {storage}/;
            etag on;
        }}
    }}
}}
"""


# --- wrk -----------------------------------------------------------------------------------


def run_wrk(url: str, threads: int, connections: int, duration: int) -> dict[str, Any]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    return parse_wrk(out.stdout)


def parse_wrk(text: str) -> dict[str, Any]:
    def number(pattern: str) -> float:
        match = re.search(pattern, text)
        if match is None:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{text}")
        return float(match.group(1))

    latency = {
        f"p{p}_ms": round(float(v) * _UNITS[u], 3)
        for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in")),
        **latency,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else None,
    }


# --- checks --------------------------------------------------------------------------------


def check_same_bytes(urls: dict[str, str], expected: bytes) -> dict[str, dict[str, str]]:
    """Every path must answer 200 with exactly the tile's bytes; returns the headers seen."""
    seen: dict[str, dict[str, str]] = {}
    with httpx.Client(timeout=10) as client:
        for name, url in urls.items():
            r = client.get(url)
            if r.status_code != 200 or r.content != expected:
                raise RuntimeError(f"{name}: {r.status_code}, {len(r.content)} bytes from {url}")
            seen[name] = {
                k: r.headers[k]
                for k in ("content-type", "cache-control", "etag", "accept-ranges")
                if k in r.headers
            }
    return seen


def check_xaccel(proxy: str, route: str, tileset_url: str) -> dict[str, Any]:
    """What a client sees through the X-Accel path besides the bytes: Range, 304, and the
    headers of tileset.json (which must stay revalidated, not immutable)."""
    with httpx.Client(base_url=proxy, timeout=10) as client:
        ranged = client.get(route, headers={"Range": "bytes=0-99"})
        etag = client.get(route).headers.get("etag", "")
        conditional = client.get(route, headers={"If-None-Match": etag})
        tileset = client.get(tileset_url)
    return {
        "range_status": ranged.status_code,
        "range_bytes": len(ranged.content),
        "if_none_match_status": conditional.status_code,
        "tileset_json_status": tileset.status_code,
        "tileset_json_cache_control": tileset.headers.get_list("cache-control"),
        "tileset_json_content_type": tileset.headers.get("content-type"),
    }


def tool_version(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    return (out.stdout + out.stderr).strip().splitlines()[0]


# --- main ----------------------------------------------------------------------------------


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in reversed(procs):
            stop(proc, signal.SIGQUIT if proc.args[0] == "nginx" else signal.SIGTERM)  # type: ignore[index]


def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    var_dir, prefix = work / "var", work / "nginx"
    prefix.mkdir()
    storage = var_dir / "storage"
    las = write_lidar_las(work / "scan.las", args.points)
    api_port, xaccel_api_port = free_port(), free_port()
    static_port, proxy_port = free_port(), free_port()
    with processes() as procs:
        env = api_env(var_dir, args.api_log_level)
        spatialviz(["migrate"], env, work / "migrate.log", check=True)
        procs.append(spatialviz(["serve", "--port", str(api_port)], env, work / "api.log"))
        wait_for_port(api_port, procs[-1])
        base = f"http://{HOST}:{api_port}"
        tile = prepare_scene(base, las, storage)

        env = api_env(var_dir, args.api_log_level, SPATIALVIZ_X_ACCEL_PREFIX="/_blobs/")
        port_args = ["serve", "--port", str(xaccel_api_port)]
        procs.append(spatialviz(port_args, env, work / "api-xaccel.log"))
        wait_for_port(xaccel_api_port, procs[-1])
        conf = prefix / "nginx.conf"
        conf.write_text(
            nginx_conf(prefix, storage, static_port, proxy_port, xaccel_api_port, args.workers)
        )
        with (work / "nginx.log").open("ab") as out:
            nginx_cmd = [
                "nginx",
                "-p",
                str(prefix),
                "-c",
                str(conf),
                "-e",
                str(prefix / "error.log"),
            ]
            procs.append(subprocess.Popen(nginx_cmd, stdout=out, stderr=subprocess.STDOUT))
        wait_for_port(static_port, procs[-1])
        wait_for_port(proxy_port, procs[-1])

        route = f"/api/v1/scenes/{tile.scene_id}/tiles/{tile.path}?sig={tile.sig}"
        urls = {
            "python": f"{base}{route}",
            "nginx": f"http://{HOST}:{static_port}/storage/{tile.key}",
            "xaccel": f"http://{HOST}:{proxy_port}{route}",
        }
        headers = check_same_bytes(urls, (storage / tile.key).read_bytes())
        direct_url = f"http://{HOST}:{xaccel_api_port}{route}"
        direct = httpx.get(direct_url, timeout=10)
        if "x-accel-redirect" not in direct.headers or direct.content:
            raise RuntimeError(f"the X-Accel API streamed the tile itself: {direct.headers}")
        tileset_route = f"/api/v1/scenes/{tile.scene_id}/tileset.json?sig={tile.sig}"
        xaccel_checks = check_xaccel(f"http://{HOST}:{proxy_port}", route, tileset_route)

        results: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
        for _ in range(args.rounds):  # interleaved, so drift hits every path alike
            for name, url in urls.items():
                run_wrk(url, args.threads, args.connections, args.warmup)
                results[name].append(run_wrk(url, args.threads, args.connections, args.duration))
        # Diagnostic, not a path a client takes: the X-Accel API alone (empty 200s), i.e.
        # the ceiling the Python half puts on the X-Accel path.
        run_wrk(direct_url, args.threads, args.connections, args.warmup)
        api_only = run_wrk(direct_url, args.threads, args.connections, args.duration)

    best = {name: max(runs, key=lambda r: r["requests_per_s"]) for name, runs in results.items()}
    nginx_rps = best["nginx"]["requests_per_s"]
    ratios = {
        "python_vs_nginx": round(best["python"]["requests_per_s"] / nginx_rps, 3),
        "xaccel_vs_nginx": round(best["xaccel"]["requests_per_s"] / nginx_rps, 3),
    }
    # The machine is shared (2 CPUs for wrk, nginx and uvicorn, plus whatever else runs):
    # best-of is the headline, the median of the interleaved rounds shows the spread.
    medians = {name: statistics.median(r["requests_per_s"] for r in runs)
               for name, runs in results.items()}  # fmt: skip
    ratios_median = {
        "python_vs_nginx": round(medians["python"] / medians["nginx"], 3),
        "xaccel_vs_nginx": round(medians["xaccel"] / medians["nginx"], 3),
    }
    return {
        "bench": "serve",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "nginx": tool_version(["nginx", "-v"]),
            "wrk": tool_version(["wrk", "-v"]),
        },
        "params": {
            "points": args.points,
            "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration}s --latency",
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "nginx_workers": args.workers,
            "uvicorn_processes": 1,
            "api_log_level": args.api_log_level,
            "nginx_access_log": "off",
        },
        "tile": {"path": tile.path, "bytes": tile.size, "glb_tiles_in_scene": tile.count},
        "headers": headers,
        "xaccel_checks": xaccel_checks,
        "results": best,
        "runs": results if args.rounds > 1 else None,
        "ratios": ratios,
        "median_requests_per_s": medians,
        "ratios_median": ratios_median,
        "diagnostic_xaccel_api_only": api_only,
        "goals": {k: {"goal": v, "met": ratios[k] >= v} for k, v in GOALS.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=500_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each run")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; best kept")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="nginx worker processes")
    parser.add_argument(
        "--api-log-level", default="WARNING", help="INFO logs every API request (nginx: off)"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"bench.serve needs {tool} on PATH (apt-get install wrk nginx-light)")
    work = Path(tempfile.mkdtemp(prefix="sv-bench-serve-"))
    try:
        result = bench(args, work)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
