"""Runs deploy/nginx/ for real: the repository's files, copied verbatim into a private
prefix, with the two per-deployment includes written for the test (upstream servers, blob
folder) and the public ports moved to free ones."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.tls import write_ca_and_server_cert

DEPLOY_NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class NginxPrefix:
    root: Path
    https_port: int
    http_port: int
    ca_file: Path

    @property
    def conf(self) -> Path:
        return self.root / "nginx.conf"

    def command(self, *extra: str) -> list[str]:
        return [NGINX, "-p", str(self.root), "-c", str(self.conf), "-e", "stderr", *extra]


def make_prefix(root: Path, upstreams: Sequence[str], storage: Path) -> NginxPrefix:
    root.mkdir(parents=True, exist_ok=True)
    https_port, http_port = free_port(), free_port()
    site = (DEPLOY_NGINX / "spatialviz.conf").read_text()
    # The only edit to the repository's file: the public ports (80/443 are not ours here).
    site = site.replace("listen 443 ssl", f"listen {https_port} ssl")
    site = site.replace("listen [::]:443 ssl", f"listen [::1]:{https_port} ssl")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen [::]:80;", f"listen [::1]:{http_port};")
    (root / "spatialviz.conf").write_text(site)
    main = (DEPLOY_NGINX / "nginx.conf").read_text()
    if not BROTLI_MODULE.exists():
        main = main.replace("include /etc/nginx/modules-enabled/*.conf;", "")
    else:
        shutil.copy(DEPLOY_NGINX / "optional" / "brotli.conf", root / "spatialviz-brotli.conf")
        # Debian's modules-enabled files name modules relative to the prefix.
        (root / "modules").symlink_to(BROTLI_MODULE.parent)
    (root / "nginx.conf").write_text(main)
    servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=30s;" for u in upstreams)
    (root / "spatialviz-upstream.conf").write_text(
        f"upstream spatialviz_api {{\n{servers}\n    keepalive 16;\n}}\n"
    )
    (root / "spatialviz-local.conf").write_text(f"alias {storage}/;\n")
    ca = write_ca_and_server_cert(root / "certs")
    return NginxPrefix(root, https_port, http_port, ca)


def check_config(prefix: NginxPrefix) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        prefix.command("-t"), capture_output=True, text=True, timeout=60, check=False
    )


@contextmanager
def running(prefix: NginxPrefix) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        prefix.command("-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(prefix.https_port, process)
        yield process
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"nginx exited with {process.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not open its port")
