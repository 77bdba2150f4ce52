"""Running the app: one uvicorn process (the default), or Gunicorn managing several uvicorn
worker processes (`spatialviz serve --workers N`).

Gunicorn is the process manager the deployment docs rely on for VMs: `kill -HUP` on its
master starts fresh workers and retires the old ones gracefully (a configuration or code
reload with no refused connection), a worker that dies is replaced, and workers are recycled
after a bounded number of requests so a slow leak cannot grow forever. On Kubernetes one
uvicorn per pod is simpler; the pod is the unit there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from spatialviz.config import ConfigError, Settings
from spatialviz.kit import multiproc_metrics
from spatialviz.kit.proxies import resolve_proxies, uvicorn_proxy_options


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int = 1
    reload: bool = False
    #: A worker is replaced after this many requests (plus jitter, so they do not all restart
    #: at once); 0 disables recycling.
    max_requests: int = 20_000
    max_requests_jitter: int = 2_000
    #: How long a worker may finish its in-flight requests on HUP or shutdown.
    graceful_timeout: int = 30
    #: Peers whose X-Forwarded-For/-Proto are believed (``SPATIALVIZ_TRUSTED_PROXIES``;
    #: none by default, kit/proxies.py).
    trusted_proxies: tuple[str, ...] = ()


def check_can_run_workers(settings: Settings, workers: int) -> None:
    """Several processes must share what one process keeps in memory: pub/sub (job progress
    on WebSockets), the token deny-list and rate-limit counters. Refuse in one line."""
    if workers > 1 and settings.redis_url is None:
        raise ConfigError(
            f"--workers {workers} needs SPATIALVIZ_REDIS_URL: pub/sub, rate limits and the "
            "token deny-list must be shared between the worker processes"
        )


def serve(settings: Settings, options: ServeOptions) -> None:
    check_can_run_workers(settings, options.workers)
    options = replace(options, trusted_proxies=tuple(resolve_proxies(settings.trusted_proxies)))
    if options.workers == 1:
        _serve_uvicorn(settings, options)
    else:
        _GunicornServer(settings, options).run()


def _serve_uvicorn(settings: Settings, options: ServeOptions) -> None:
    # One process: its metrics in its memory, as they have always been. An inherited
    # multiprocess directory would be neither private nor cleaned (kit/multiproc_metrics.py).
    os.environ.pop(multiproc_metrics.ENV, None)
    import uvicorn

    from spatialviz.kit.slow_clients import header_deadline_protocol

    uvicorn.run(
        "spatialviz.app:create_app",
        factory=True,
        http=header_deadline_protocol(settings.request_header_timeout_seconds),
        host=options.host,
        port=options.port,
        reload=options.reload,
        log_config=None,
        # As Gunicorn's graceful_timeout: requests still running that long after a stop
        # (Ctrl-C, SIGTERM) are cancelled, so the server and its job pool do stop.
        timeout_graceful_shutdown=options.graceful_timeout,
        **uvicorn_proxy_options(settings),
    )


def gunicorn_config(options: ServeOptions) -> dict[str, Any]:
    """Gunicorn settings for uvicorn workers (exposed for tests and for operators reading
    what `serve --workers` runs)."""
    return {
        "bind": [f"{options.host}:{options.port}"],
        "workers": options.workers,
        # uvicorn's worker with a deadline for request headers (kit/slow_clients.py)
        "worker_class": "spatialviz.kit.slow_clients.HeaderDeadlineWorker",
        "max_requests": options.max_requests,
        "max_requests_jitter": options.max_requests_jitter,
        "graceful_timeout": options.graceful_timeout,
        # Uvicorn workers answer Gunicorn's heartbeat from their event loop; CPU work runs in
        # worker pools, so a worker silent this long is stuck, not busy.
        "timeout": 60,
        "keepalive": 75,  # longer than nginx's upstream keepalive, so nginx closes first
        # Each worker builds its own app: resources come from the lifespan, never shared
        # across fork.
        "preload_app": False,
        # Gunicorn's default (and uvicorn's) believes X-Forwarded-For from 127.0.0.1: only
        # the configured proxies here (issue 16).
        "forwarded_allow_ips": ",".join(options.trusted_proxies),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        # Metrics in multiprocess mode (kit/multiproc_metrics.py): a worker that exits
        # (recycled, HUP, killed) keeps its counts; its live gauges go with it.
        "child_exit": _child_exit,
        "on_exit": _on_exit,
    }


# Gunicorn's hook signatures; a HUP reloads the configuration, so the hooks are settings
# (read again) rather than state kept by the server object.
def _child_exit(server: Any, worker: Any) -> None:  # noqa: ARG001
    multiproc_metrics.forget_process(worker.pid)


def _on_exit(server: Any) -> None:  # noqa: ARG001
    """The master stops: this start's metrics directory goes (start_fresh_dir made it)."""
    path = os.environ.get(multiproc_metrics.ENV)
    if path:
        multiproc_metrics.remove_dir(Path(path), os.getpid())


def _gunicorn_application() -> type[Any]:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def __init__(self, settings: Settings, options: ServeOptions) -> None:
            self._settings = settings
            self._options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in gunicorn_config(self._options).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from spatialviz.app import create_app

            return create_app()

    return Application


class _GunicornServer:
    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        # Before Gunicorn forks a worker (which imports prometheus_client): every worker
        # then writes its samples where the one answering a scrape reads them all.
        multiproc_metrics.start_fresh_dir()
        self._app = _gunicorn_application()(settings, options)

    def run(self) -> None:
        self._app.run()
