"""Each tier of the stack: its configuration files (written from deploy/ where deploy/ has
them) and the command that starts it inside its namespace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from spatialviz.stack import procs
from spatialviz.stack.layout import (
    ALERTMANAGER_PORT,
    AMQP_PORT,
    API,
    API_PORT,
    BROKER,
    CACHE,
    EDGE,
    MONITOR,
    POSTGRES_PORT,
    PRIMARY,
    PROMETHEUS_PORT,
    REDIS_PORT,
    REPLICA,
    WORKER_METRICS_PORT,
    WORKERS,
    Host,
)
from spatialviz.stack.settings import RABBITMQ_SERVER, RABBITMQCTL, deploy_file, pg_bin

Popen = subprocess.Popen[bytes]
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")


# --- PostgreSQL: a primary and a streaming replica, each in its own namespace ---------------


def _pg_folder(state: Path) -> Path:
    folder = state / "pg"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    for parent in folder.parents:  # postgres must be able to reach its folder
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o011)
    return folder


def _postgres(host: Host, data: Path, logs: Path) -> Popen:
    sockets = data.parent / f"run-{host.name}"
    sockets.mkdir(exist_ok=True)
    shutil.chown(sockets, "postgres", "postgres")
    options = {
        "listen_addresses": host.address("data"),
        "port": str(POSTGRES_PORT),
        "unix_socket_directories": str(sockets),
        "wal_level": "replica",
        "max_wal_senders": "5",
        "hot_standby": "on",
        "max_connections": "300",
        "shared_buffers": "64MB",
    }
    command = [str(pg_bin() / "postgres"), "-D", str(data)]
    for name, value in options.items():
        command += ["-c", f"{name}={value}"]
    return procs.spawn(f"postgres-{host.name}", host.netns, command, logs, user="postgres")


def start_primary(state: Path, secret: dict[str, str], logs: Path) -> Popen:
    folder = _pg_folder(state)
    data = folder / "primary"
    ready = folder / "primary.ready"  # written once its roles and database exist
    fresh = not ready.exists()
    if fresh:
        shutil.rmtree(data, ignore_errors=True)  # an initialisation that did not finish
        password_file = folder / "initdb-password"
        password_file.write_text("unused\n")
        shutil.chown(password_file, "postgres", "postgres")
        procs.run(None, [str(pg_bin() / "initdb"), "-D", str(data), "-U", "postgres",
                         "--auth-local=peer", "--auth-host=scram-sha-256",
                         f"--pwfile={password_file}", "-E", "UTF8", "--locale=C.UTF-8"],
                  user="postgres")  # fmt: skip
        password_file.unlink()
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(
                "# make stack: the API servers and workers on the data segment, and the replica\n"
                f"host spatialviz spatialviz {PRIMARY.address('data')[:-3]}.0/24 scram-sha-256\n"
                f"host replication replicator {REPLICA.address('data')}/32 scram-sha-256\n"
            )
    process = _postgres(PRIMARY, data, logs)
    procs.wait_for_port("PostgreSQL primary", PRIMARY.netns, PRIMARY.address("data"),
                        POSTGRES_PORT, logs / f"postgres-{PRIMARY.name}.log", process)  # fmt: skip
    if fresh:
        statements = [
            f"CREATE ROLE spatialviz LOGIN PASSWORD '{secret['db_password']}'",
            f"CREATE ROLE replicator REPLICATION LOGIN PASSWORD '{secret['replication_password']}'",
            "CREATE DATABASE spatialviz OWNER spatialviz",  # not inside a transaction
        ]
        psql = [str(pg_bin() / "psql"), "-h", str(folder / f"run-{PRIMARY.name}"),
                "-p", str(POSTGRES_PORT), "-U", "postgres", "-d", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q"]  # fmt: skip
        for statement in statements:
            psql += ["-c", statement]
        procs.run(PRIMARY.netns, psql, user="postgres")
        ready.touch()
    return process


def start_replica(state: Path, secret: dict[str, str], logs: Path) -> Popen:
    folder = _pg_folder(state)
    data = folder / "replica"
    ready = folder / "replica.ready"
    if not ready.exists():
        shutil.rmtree(data, ignore_errors=True)
        # -R writes primary_conninfo (with the replication password) and standby.signal.
        procs.run(REPLICA.netns, [str(pg_bin() / "pg_basebackup"), "-h", PRIMARY.address("data"),
                                  "-p", str(POSTGRES_PORT), "-U", "replicator", "-D", str(data),
                                  "-R", "-X", "stream", "--checkpoint=fast"],
                  env={"PGPASSWORD": secret["replication_password"], "PATH": "/usr/bin:/bin"},
                  user="postgres")  # fmt: skip
        ready.touch()
    process = _postgres(REPLICA, data, logs)
    procs.wait_for_port("PostgreSQL replica", REPLICA.netns, REPLICA.address("data"),
                        POSTGRES_PORT, logs / f"postgres-{REPLICA.name}.log", process)  # fmt: skip
    return process


# --- Redis and RabbitMQ ---------------------------------------------------------------------


def start_redis(state: Path, secret: dict[str, str], logs: Path) -> Popen:
    folder = state / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "redis.conf"
    conf.touch(mode=0o600)
    conf.write_text(
        f"bind {CACHE.address('data')}\nport {REDIS_PORT}\nrequirepass {secret['redis_password']}\n"
        f'dir {folder}\nsave ""\nappendonly no\nprotected-mode no\ndaemonize no\nlogfile ""\n'
    )
    return procs.spawn("redis", CACHE.netns, ["redis-server", str(conf)], logs)


def _rabbitmq_env(state: Path) -> dict[str, str]:
    folder = state / "rabbitmq"
    return {
        "PATH": "/usr/lib/rabbitmq/bin:/usr/bin:/bin",
        "HOME": str(folder),  # its Erlang cookie
        "RABBITMQ_NODENAME": "rabbit@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": BROKER.address("data"),
        "RABBITMQ_NODE_PORT": str(AMQP_PORT),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
        "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(folder / "rabbit.pid"),
    }


def start_rabbitmq(state: Path, logs: Path) -> Popen:
    (state / "rabbitmq").mkdir(parents=True, exist_ok=True)
    env = _rabbitmq_env(state)
    return procs.spawn("rabbitmq", BROKER.netns, [str(RABBITMQ_SERVER)], logs, env=env)


def configure_rabbitmq(state: Path, secret: dict[str, str]) -> None:
    """Waits for the node, then gives Spatialviz its own user and vhost (idempotent)."""
    env = _rabbitmq_env(state)
    ctl = str(RABBITMQCTL)
    procs.run(BROKER.netns, [ctl, "-q", "await_startup", "--timeout", "150"], env=env, timeout=170)
    users = procs.run(BROKER.netns, [ctl, "-q", "list_users"], env=env)
    if "spatialviz" not in users.split():
        procs.run(
            BROKER.netns, [ctl, "-q", "add_user", "spatialviz", secret["amqp_password"]], env=env
        )
    procs.run(BROKER.netns, [ctl, "-q", "add_vhost", "spatialviz"], env=env)
    procs.run(BROKER.netns, [ctl, "-q", "set_permissions", "-p", "spatialviz", "spatialviz",
                             ".*", ".*", ".*"], env=env)  # fmt: skip


# --- The application: migrations, two API servers, two workers ------------------------------


def migrate(env: dict[str, str]) -> None:
    procs.run(API[0].netns, [sys.executable, "-m", "spatialviz", "migrate"], env=env, timeout=300)


def start_api(host: Host, env: dict[str, str], logs: Path) -> Popen:
    command = [sys.executable, "-m", "spatialviz", "serve", "--host", "0.0.0.0",
               "--port", str(API_PORT), "--workers", "2"]  # fmt: skip
    return procs.spawn(host.name, host.netns, command, logs, env=env)


def start_worker(host: Host, env: dict[str, str], state: Path, logs: Path, beat: bool) -> Popen:
    metrics = state / "app" / f"prometheus-{host.name}"
    shutil.rmtree(metrics, ignore_errors=True)  # a restarted worker's old samples would linger
    metrics.mkdir(parents=True)
    command = [sys.executable, "-m", "spatialviz", "worker", "--concurrency", "2",
               "--metrics-port", str(WORKER_METRICS_PORT), "--loglevel", "WARNING"]  # fmt: skip
    if beat:
        command.append("--beat")  # the periodic reaper: one such worker per deployment
    worker_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    return procs.spawn(host.name, host.netns, command, logs, env=worker_env)


# --- nginx ----------------------------------------------------------------------------------


def write_nginx_prefix(state: Path, cert: Path, key: Path) -> Path:
    """deploy/nginx/ copied into a prefix, with the two per-deployment includes written for
    the stack. The one edit: the plain-HTTP redirect listens on the edge's loopback only, so
    the outside reaches nginx on 443 alone."""
    prefix = state / "nginx"
    shutil.rmtree(prefix, ignore_errors=True)
    (prefix / "logs").mkdir(parents=True)
    (prefix / "certs").mkdir()
    shutil.copy(cert, prefix / "certs" / "tls.crt")
    shutil.copy(key, prefix / "certs" / "tls.key")
    (prefix / "certs" / "tls.key").chmod(0o600)
    site = deploy_file("nginx", "spatialviz.conf").read_text()
    site = site.replace("listen 80;", "listen 127.0.0.1:80;")
    site = site.replace("listen [::]:80;", "listen [::1]:80;")
    (prefix / "spatialviz.conf").write_text(site)
    main = deploy_file("nginx", "nginx.conf").read_text()
    if BROTLI_MODULE.exists():
        shutil.copy(
            deploy_file("nginx", "optional", "brotli.conf"), prefix / "spatialviz-brotli.conf"
        )
        (prefix / "modules").symlink_to(BROTLI_MODULE.parent)  # Debian's paths are prefix-relative
    else:
        main = main.replace("include /etc/nginx/modules-enabled/*.conf;", "")
    (prefix / "nginx.conf").write_text(main)
    servers = "".join(
        f"    server {api.address('front')}:{API_PORT} max_fails=1 fail_timeout=10s;\n"
        for api in API
    )
    (prefix / "spatialviz-upstream.conf").write_text(
        f"upstream spatialviz_api {{\n{servers}    keepalive 32;\n}}\n"
    )
    (state / "storage").mkdir(parents=True, exist_ok=True)
    (prefix / "spatialviz-local.conf").write_text(f"alias {state / 'storage'}/;\n")
    return prefix


def nginx_command(prefix: Path, *extra: str) -> list[str]:
    return [
        "nginx",
        "-p",
        f"{prefix}/",
        "-c",
        str(prefix / "nginx.conf"),
        "-e",
        "logs/error.log",
        *extra,
    ]


def start_nginx(prefix: Path, logs: Path) -> Popen:
    procs.run(EDGE.netns, nginx_command(prefix, "-t", "-q"))
    return procs.spawn("nginx", EDGE.netns, nginx_command(prefix, "-g", "daemon off;"), logs)


# --- Prometheus and Alertmanager ------------------------------------------------------------


def write_monitoring(state: Path) -> tuple[Path, Path]:
    """Prometheus scrapes both API servers and both workers on the metrics segment with the
    repository's alert rules; Alertmanager runs deploy/'s routing, its receivers pointed at
    the monitor's loopback (the stack has no on-call system to page)."""
    folder = state / "monitoring"
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "rule_files": [str(deploy_file("prometheus", "alerts.yml"))],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{ALERTMANAGER_PORT}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "spatialviz-api",
                "static_configs": [
                    {"targets": [f"{api.address('metrics')}:{API_PORT}" for api in API]}
                ],
            },
            {
                "job_name": "spatialviz-worker",
                "static_configs": [
                    {"targets": [f"{w.address('metrics')}:{WORKER_METRICS_PORT}" for w in WORKERS]}
                ],
            },
        ],
    }
    prometheus = folder / "prometheus.yml"
    prometheus.write_text(json.dumps(config, indent=2))  # JSON is YAML
    routing = deploy_file("alertmanager", "alertmanager.yml").read_text()
    routing = routing.replace("http://alert-router.internal:8080", "http://127.0.0.1:9094")
    alertmanager = folder / "alertmanager.yml"
    alertmanager.write_text(routing)
    return prometheus, alertmanager


def start_monitoring(state: Path, logs: Path) -> tuple[Popen, Popen]:
    prometheus_yml, alertmanager_yml = write_monitoring(state)
    folder = prometheus_yml.parent
    prometheus = procs.spawn("prometheus", MONITOR.netns, [
        "prometheus", f"--config.file={prometheus_yml}", f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=0.0.0.0:{PROMETHEUS_PORT}", "--log.level=warn",
    ], logs)  # fmt: skip
    alertmanager = procs.spawn("alertmanager", MONITOR.netns, [
        "prometheus-alertmanager", f"--config.file={alertmanager_yml}",
        f"--storage.path={folder / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{ALERTMANAGER_PORT}", "--cluster.listen-address=",
        "--log.level=warn",
    ], logs)  # fmt: skip
    return prometheus, alertmanager
