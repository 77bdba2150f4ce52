"""`make stack` and `make stack-down`: the order the tiers start in, and the teardown that
leaves no process, listener, namespace, veth or route behind."""

from __future__ import annotations

import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from spatialviz.stack import netns, procs, tiers
from spatialviz.stack.layout import (
    API,
    API_PORT,
    EDGE_ADDRESS,
    HTTPS_PORT,
    MONITOR,
    PROMETHEUS_PORT,
    SWITCH,
    WORKER_METRICS_PORT,
    WORKERS,
    public_url,
)
from spatialviz.stack.settings import (
    app_environment,
    check_app_settings,
    check_machine,
    load_secrets,
    overridden,
    own_tls_files,
)
from spatialviz.stack.tls import make_ca_and_server_cert

#: The namespaces in teardown order: the edge and the application before the data tier.
TEARDOWN_ORDER = (
    ("edge", "api1", "api2", "work1", "work2", "mon"),
    ("db1", "db2", "cache", "broker"),
)


@dataclass(frozen=True)
class Started:
    seconds: float
    url: str
    ca_file: Path | None
    demo: str | None


def is_up() -> bool:
    return bool(netns.existing())


def up(state: Path, demo_points: int, say: Callable[[str], None] = print) -> Started:
    """Starts the whole stack, or refuses (Refused) before anything starts. A tier that fails
    to come up tears everything down again and raises StackError naming it and its log."""
    began = time.monotonic()
    check_machine()
    own_tls = own_tls_files()
    state.mkdir(parents=True, exist_ok=True)
    secret = load_secrets(state / "secrets")
    env = app_environment(state, secret)
    check_app_settings(env)
    for name in overridden():
        say(f"  setting from your environment: {name}")
    logs = state / "logs"
    try:
        return _start(state, secret, env, logs, own_tls, demo_points, began, say)
    except BaseException:
        say(f"make stack failed: tearing down (logs kept in {logs})")
        down(quiet=True)
        raise


def _start(
    state: Path,
    secret: dict[str, str],
    env: dict[str, str],
    logs: Path,
    own_tls: tuple[Path, Path] | None,
    demo_points: int,
    began: float,
    say: Callable[[str], None],
) -> Started:
    def step(what: str) -> None:
        say(f"[{time.monotonic() - began:5.1f} s] {what}")

    step("network: namespaces, segments, the outside link to nginx")
    netns.create()
    if own_tls is None:
        ca_file: Path | None = make_ca_and_server_cert(state / "tls", EDGE_ADDRESS)
        cert, key = state / "tls" / "tls.crt", state / "tls" / "tls.key"
    else:
        ca_file, (cert, key) = None, own_tls
    prefix = tiers.write_nginx_prefix(state, cert, key)

    step("RabbitMQ, Redis, Prometheus and Alertmanager (starting)")
    tiers.start_rabbitmq(state, logs)  # the slowest (about 40 s): it starts first
    tiers.start_redis(state, secret, logs)
    tiers.start_monitoring(state, logs)
    step("PostgreSQL primary")
    tiers.start_primary(state, secret, logs)
    step("PostgreSQL streaming replica")
    tiers.start_replica(state, secret, logs)
    step("migrations")
    tiers.migrate(env)
    step("API servers (Gunicorn, 2 workers each) and nginx")
    apis = [tiers.start_api(host, env, logs) for host in API]
    nginx = tiers.start_nginx(prefix, logs)
    step("RabbitMQ: waiting for the node, then its user and vhost")
    tiers.configure_rabbitmq(state, secret)
    step("Celery workers")
    workers = [
        tiers.start_worker(host, env, state, logs, beat=index == 0)
        for index, host in enumerate(WORKERS)
    ]
    for host, process in zip(API, apis, strict=True):
        procs.wait_for_port(f"API server {host.name}", host.netns, host.address("front"),
                            API_PORT, logs / f"{host.name}.log", process)  # fmt: skip
    for host, process in zip(WORKERS, workers, strict=True):
        procs.wait_for_port(f"worker {host.name}", host.netns, host.address("metrics"),
                            WORKER_METRICS_PORT, logs / f"{host.name}.log", process)  # fmt: skip
    procs.wait_for_port("nginx", None, EDGE_ADDRESS, HTTPS_PORT, logs / "nginx.log", nginx)
    _wait_until_ready(ca_file, logs)
    procs.wait_for_port("Prometheus", MONITOR.netns, MONITOR.address("metrics"),
                        PROMETHEUS_PORT, logs / "prometheus.log")  # fmt: skip
    demo = None
    if demo_points > 0:
        step(f"demo account and scenes ({demo_points:,} points)")
        demo = _demo(env, demo_points, logs)
    seconds = time.monotonic() - began
    step("up")
    return Started(seconds, public_url(), ca_file, demo)


def _wait_until_ready(ca_file: Path | None, logs: Path, within: float = 120) -> None:
    """The whole path, as a client sees it: /readyz through nginx over TLS answers "ok"
    (database, replica, Redis and storage all reached) four times in a row, so both API
    servers behind it (round robin) have answered."""
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(ca_file)) if ca_file else False
    )
    deadline = time.monotonic() + within
    answers: list[str] = []
    with httpx.Client(base_url=public_url(), verify=verify, timeout=10) as client:
        while len(answers) < 4 or answers[-4:] != ["ok"] * 4:
            if time.monotonic() > deadline:
                raise procs.StackError(f"/readyz through nginx: {answers[-4:]}; see {logs}")
            try:
                response = client.get("/readyz")
                answers.append(response.json().get("status", str(response.status_code)))
            except (httpx.HTTPError, ValueError) as error:
                answers.append(type(error).__name__)
                time.sleep(0.5)


def _demo(env: dict[str, str], points: int, logs: Path) -> str:
    """`spatialviz demo` run on an API server's host: through the real API and the Celery
    workers. Returns its sign-in lines."""
    output = procs.run(API[0].netns, [sys.executable, "-m", "spatialviz", "demo", "--points",
                                      str(points)], env=env, timeout=600)  # fmt: skip
    (logs / "demo.log").write_text(output)
    lines = [line for line in output.splitlines() if "demo@" in line or "password" in line.lower()]
    return "\n".join(lines) or output.strip().splitlines()[-1]


def down(quiet: bool = False, say: Callable[[str], None] = print) -> int:
    """Ends every process in the stack's namespaces (by id), then removes the namespaces,
    the outside link and the route. Returns how many processes were ended."""
    present = set(netns.existing())
    ended = 0
    for group in TEARDOWN_ORDER:
        names = [f"svs-{name}" for name in group if f"svs-{name}" in present]
        ended += procs.end_all(names)
    ended += procs.end_all([name for name in present if name != SWITCH])
    netns.remove()
    left = netns.leftovers()
    if left:
        raise procs.StackError(f"could not remove: {', '.join(left)}")
    if not quiet:
        say(f"stack down: {ended} processes ended; no namespace, link or route left")
    return ended
